"""What a data command may import: its fixed cost is mostly imports (issue 19, part 3).

`tests/test_startup.py` guards `--help` and `--version`; this guards the commands scripts and
CI run all day, as they run them: token in ASSETCTL_TOKEN, stdout a pipe, no Redis
configured. Each case is a fresh interpreter through the real error boundary
(`tests.conftest.run_fresh`), which reports every module it imported. Timing is
`benchmarks/data_command_cost.py`'s job, never asserted here.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import Cli, add_args, run_fresh

# Never needed by a data command run this way: the keyring (ASSETCTL_TOKEN is set), Rich
# (stdout is not a terminal), Redis (no redis_url), HTTP and images (no provider, no IP
# lookup), migrations, password hashing (no password is checked), Typer's pydantic,
# sending alert notifications (none is due).
NEVER = (
    "keyring",
    "rich",
    "redis",
    "httpx",
    "PIL",
    "alembic",
    "passlib",
    "argon2",
    "pydantic",
    "smtplib",
    "assetctl.core.describe.service",
    "assetctl.core.security.channels",
    "assetctl.core.security.public_ip",
    # Delivering alerts: only the check whether one is due runs (core/security/due.py).
    "assetctl.core.security.notify",
    # The cache and its codec, with no Redis configured (issue 19, part 3).
    "assetctl.cache",
    # Other features' modules, once imported by loading the settings.
    "assetctl.core.describe",
    "assetctl.core.labels",
    "assetctl.providers",
    # Tables no data command reads (db/tables.py builds them for the whole schema only).
    "assetctl.db.audit_tables",
)
# Nor, on PostgreSQL, does an asset command build the accounts' tables: the session check
# is one statement of the database's own (SQLite checks it through the ORM classes).
NEVER_FOR_ASSETS = ("assetctl.db.account_tables",)
# On PostgreSQL the database signs and verifies tokens, so PyJWT stays out too; SQLite
# checks the token in the client and needs it. Neither loads the other's SQL dialect (the
# dialect-specific indexes are attached only for migrations, db/tables.py); nor, on
# PostgreSQL, psycopg2.extras (db/pg_dialect.py).
NEVER_ON_POSTGRES = ("jwt", "cryptography", "sqlalchemy.dialects.sqlite", "psycopg2.extras")
NEVER_ON_SQLITE = ("sqlalchemy.dialects.postgresql",)

COMMANDS: list[tuple[str, tuple[str, ...]]] = [
    ("asset show", ("asset", "show", "LAP-1", "--no-cache")),
    ("asset show -o json", ("asset", "show", "LAP-1", "--no-cache", "-o", "json")),
    ("asset list", ("asset", "list", "--no-cache")),
    ("asset list --search", ("asset", "list", "--search", "lap", "--no-cache")),
    ("asset update", ("asset", "update", "LAP-1", "--location", "Berlin")),
    ("asset assign", ("asset", "assign", "LAP-1", "--to", "ann@example.com")),
    ("asset history", ("asset", "history", "LAP-1")),
    ("user list", ("user", "list")),
    ("auth whoami", ("auth", "whoami")),
]


def _loaded(modules: frozenset[str], names: tuple[str, ...]) -> list[str]:
    return sorted(
        name for name in modules if any(name == bad or name.startswith(f"{bad}.") for bad in names)
    )


@pytest.fixture
def seeded(cli: Cli) -> Cli:
    cli.ok(*add_args("LAP-1"))
    return cli


@pytest.mark.parametrize(("label", "args"), COMMANDS, ids=[label for label, _ in COMMANDS])
def test_data_command_imports_only_what_it_uses(
    seeded: Cli, label: str, args: tuple[str, ...]
) -> None:
    env = {k: v for k, v in seeded.env.items() if k != "ASSETCTL_REDIS_URL"}
    fresh = run_fresh(env, *args)

    assert fresh.code == 0, (label, fresh.stdout)
    assert fresh.stdout.strip(), label  # it really ran and printed its answer
    forbidden: tuple[str, ...] = NEVER
    if seeded.env["ASSETCTL_DATABASE_URL"].startswith("postgresql"):
        forbidden += NEVER_ON_POSTGRES
    else:
        forbidden += NEVER_ON_SQLITE
    if label.startswith("asset") and seeded.env["ASSETCTL_DATABASE_URL"].startswith("postgresql"):
        forbidden += NEVER_FOR_ASSETS
    assert _loaded(fresh.modules, forbidden) == []


def test_the_guard_sees_what_a_command_imports(seeded: Cli) -> None:
    """The probe is not blind: asking for the table format on a pipe imports Rich, and the
    answer is the asset itself."""
    fresh = run_fresh(seeded.env, "asset", "show", "LAP-1", "--no-cache", "-o", "table")
    assert fresh.code == 0
    assert _loaded(fresh.modules, ("rich",)) != []
    plain = run_fresh(seeded.env, "asset", "show", "LAP-1", "--no-cache", "-o", "json")
    assert json.loads(plain.stdout)["tag"] == "LAP-1"
    assert "sqlalchemy" in plain.modules and "assetctl.db.engine" in plain.modules
