"""Storage: the only place that runs SQL (today the SQLite event log)."""
