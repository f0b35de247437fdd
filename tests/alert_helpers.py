"""Shared steps of the security alert tests: logging in with alert settings, reading the
alert tables, and scanning everything captured for secrets."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tests.auth_helpers import PASSWORD, db_secret, query
from tests.conftest import ADMIN_PASSWORD, Cli, CliResult

# Logins as a user other than the fixture's admin: no ASSETCTL_TOKEN, token kept in a file.
AS_LOGIN = {"ASSETCTL_TOKEN": "", "ASSETCTL_AUTH_STORAGE": "file"}
SMTP_PASSWORD = "smtp-Secret-pw-4711"


def login(
    cli: Cli, email: str, env: dict[str, str], *, verbose: bool = False, password: str = PASSWORD
) -> CliResult:
    args = ["-v"] if verbose else []
    args += ["auth", "login", "--email", email, "--password-stdin"]
    return cli(*args, input=password + "\n", env={**AS_LOGIN, **env})


def _json(rows: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    # SQLite hands JSON columns back as text through a raw query.
    for row in rows:
        if isinstance(row[column], str):
            row[column] = json.loads(row[column])
    return rows


def events(url: str, email: str | None = None) -> list[dict[str, Any]]:
    where = "" if email is None else "WHERE email = :email"
    rows = query(url, f"SELECT * FROM login_events {where} ORDER BY id", email=email)
    return _json(rows, "public_ips")


def alerts(url: str) -> list[dict[str, Any]]:
    return _json(query(url, "SELECT * FROM security_alerts ORDER BY id"), "details")


def deliveries(url: str) -> list[dict[str, Any]]:
    return query(url, "SELECT * FROM alert_deliveries ORDER BY alert_id, channel")


def make_all_due(url: str) -> None:
    """Let the retry backoff pass (as if minutes had gone by)."""
    query(
        url,
        "UPDATE alert_deliveries SET next_attempt_at = :past WHERE status = 'pending'",
        past="2000-01-01 00:00:00.000000" if url.startswith("sqlite") else "2000-01-01T00:00Z",
    )


def secrets(cli: Cli, url: str, extra: Iterable[str] = ()) -> list[str]:
    """Everything that must never show up in output, logs or notifications."""
    found = [PASSWORD, ADMIN_PASSWORD, cli.env["ASSETCTL_TOKEN"], db_secret(url), *extra]
    found += [row["password_hash"] for row in query(url, "SELECT password_hash FROM users")]
    # Tokens issued to the users the test logged in (file storage).
    found += [p.read_text().strip() for p in Path(cli.env["XDG_DATA_HOME"]).rglob("*.jwt")]
    return [s for s in found if s]


def assert_no_secrets(captured: Iterable[str], forbidden: Iterable[str]) -> None:
    text = "\n".join(captured)
    for secret in forbidden:
        assert secret not in text, f"a secret leaked: {secret[:6]}..."


def set_policy(cli: Cli, values: Mapping[str, str]) -> None:
    """Set security policy values as the admin (the `cli` fixture's token)."""
    for key, value in values.items():
        cli.ok("policy", "set", key, value)
