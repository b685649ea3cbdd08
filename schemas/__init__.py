"""msgspec types shared by every layer: the event contract, statuses, and report records."""
