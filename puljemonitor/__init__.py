"""puljemonitor: event-sourced monitoring of the Danish employment pools."""
