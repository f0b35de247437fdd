"""The Alembic head this release expects. Kept as a constant so every command can check the
schema without importing Alembic; a test asserts it equals the newest migration."""

HEAD_REVISION = "0013_lean_indexes"
