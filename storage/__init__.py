"""SQLite storage: the connection, recorded migrations and plain-SQL functions per table group."""
