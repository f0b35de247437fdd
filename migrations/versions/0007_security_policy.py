"""The security policy moves into the database (`assetctl policy set`), a login whose
public IP is unknown may raise an `unknown_ip` alert, and a session records the database
login it was opened over (PostgreSQL verifies tokens itself, with a key no client reads).

Revision ID: 0007_security_policy
Revises: 0006_machine_facts
Create Date: 2026-12-04
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from assetctl.db.tables import UTCDateTime

revision: str = "0007_security_policy"
down_revision: str | None = "0006_machine_facts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = "'new_ip', 'new_country', 'impossible_travel'"


def _kinds(kinds: str) -> None:
    with op.batch_alter_table("security_alerts") as batch:
        batch.drop_constraint(op.f("ck_security_alerts_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_security_alerts_kind"), f"kind IN ({kinds})")


def upgrade() -> None:
    op.create_table(
        "security_policy",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(320), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_security_policy"),
    )
    _kinds(f"{_KINDS}, 'unknown_ip'")
    # A session is bound to the database login that opened it (PostgreSQL).
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("db_login", sa.String(63), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # Until now every client login could read the signing key: every token signed with
        # it may be forged, so a new key ends them all (everyone logs in once more).
        op.execute(
            sa.text("UPDATE app_meta SET value = :key WHERE key = 'jwt_secret'").bindparams(
                key=secrets.token_urlsafe(48)
            )
        )
        _relief_verifiers()


_LEGACY = re.compile(
    r"\$argon2id\$v=19\$m=([0-9]+),t=([0-9]+),p=([0-9]+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)"
)


def _relief_verifiers() -> None:
    """PostgreSQL checks passwords by server relief now; passlib's Argon2id hash holds the
    very output a client proves, so it would be a password equivalent: keep SHA-256 of it
    (`relief$M$T$P$LEN$SALT$VERIFIER`, as assetctl.core.auth.passwords writes). One way:
    downgrading keeps the verifiers, and users log in with the same passwords."""
    bind = op.get_bind()
    for user_id, stored in bind.execute(sa.text("SELECT id, password_hash FROM users")).all():
        found = _LEGACY.fullmatch(stored or "")
        if found is None:
            continue
        digest = found[5]
        raw = base64.b64decode(digest + "=" * (-len(digest) % 4))
        verifier = hashlib.sha256(raw).hexdigest()
        relief = f"relief${found[1]}${found[2]}${found[3]}${len(raw)}${found[4]}${verifier}"
        bind.execute(
            sa.text("UPDATE users SET password_hash = :h WHERE id = :id"),
            {"h": relief, "id": user_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("db_login")
    op.execute("DELETE FROM security_alerts WHERE kind = 'unknown_ip'")
    _kinds(_KINDS)
    op.drop_table("security_policy")
