"""The SQL adapter: SQLAlchemy models, repositories and the unit of work, for SQLite and MySQL."""
