"""The long-running sessiond daemon: clock, schedule, session data, coordinator, feeds, aggregation."""
