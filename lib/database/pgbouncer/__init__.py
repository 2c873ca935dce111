"""PgBouncer: pool sizes and its files, and TLS towards the database."""
