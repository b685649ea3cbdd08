"""From citizen timelines to monthly statuses, aggregates and reports (pure functions)."""
