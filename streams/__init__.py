"""The per-citizen state machine and, around it, the stream-processing shells."""
