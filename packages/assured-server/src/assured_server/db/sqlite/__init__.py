"""SQLite: its connections on the event loop, the group commit, the writer lock across processes."""
