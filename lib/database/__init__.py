"""PostgreSQL and PgBouncer: connection limits, pools, the files PgBouncer reads."""
