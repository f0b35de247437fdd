"""What the cache tests read from the database: the data generation every write bumps."""

from __future__ import annotations

import pytest


def data_generation(url: str) -> int:
    """The cache's data generation, read as the superuser (no client role may read it)."""
    import psycopg2

    conn = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT value FROM cache_generations WHERE name = 'data'")
            (value,) = cursor.fetchone()
        return int(value)
    finally:
        conn.close()


def postgres_only(url: str) -> None:
    if not url.startswith("postgresql"):
        pytest.skip("the cache (and its generation) serves PostgreSQL only")
