"""Login events, security alerts and their notification deliveries.

Revision ID: 0003_security_alerts
Revises: 0002_auth
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_security_alerts"
down_revision: str | None = "0002_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "login_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(45), nullable=True),
        sa.Column("ip_source", sa.String(16), nullable=False),
        sa.Column("public_ips", sa.JSON(), nullable=False),
        sa.Column("db_client_addr", sa.String(45), nullable=True),
        sa.Column("hostname", sa.String(255), nullable=True),
        sa.Column("os_user", sa.String(128), nullable=True),
        sa.Column("cli_version", sa.String(32), nullable=True),
        sa.Column("jti", sa.String(64), nullable=True),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("city", sa.String(200), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("accuracy_radius", sa.Integer(), nullable=True),
        sa.Column("network", sa.String(49), nullable=True),
        sa.CheckConstraint(
            "ip_source IN ('echo', 'database', 'unknown', 'off')",
            name=op.f("ck_login_events_ip_source"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_login_events_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_events")),
    )
    op.create_index(
        "ix_login_events_user_id_success_at", "login_events", ["user_id", "success", "at"]
    )
    op.create_index("ix_login_events_email_id", "login_events", ["email", "id"])
    op.create_table(
        "security_alerts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("login_event_id", BIG_ID, nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("location", sa.String(128), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acked_by", sa.String(320), nullable=True),
        sa.CheckConstraint(
            "kind IN ('new_ip', 'new_country', 'impossible_travel')",
            name=op.f("ck_security_alerts_kind"),
        ),
        sa.CheckConstraint(
            "severity IN ('warning', 'high', 'critical')",
            name=op.f("ck_security_alerts_severity"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_security_alerts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["login_event_id"],
            ["login_events.id"],
            name=op.f("fk_security_alerts_login_event_id_login_events"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_alerts")),
    )
    op.create_index(
        "ix_security_alerts_user_id_kind_location_at",
        "security_alerts",
        ["user_id", "kind", "location", "at"],
    )
    op.create_index("ix_security_alerts_at", "security_alerts", ["at"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("alert_id", BIG_ID, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "channel IN ('log', 'webhook', 'email')", name=op.f("ck_alert_deliveries_channel")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered')", name=op.f("ck_alert_deliveries_status")
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["security_alerts.id"],
            name=op.f("fk_alert_deliveries_alert_id_security_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deliveries")),
    )
    op.create_index(
        "ix_alert_deliveries_status_next_attempt_at",
        "alert_deliveries",
        ["status", "next_attempt_at"],
    )
    op.create_index("ix_alert_deliveries_alert_id", "alert_deliveries", ["alert_id"])


def downgrade() -> None:
    op.drop_index("ix_alert_deliveries_alert_id", table_name="alert_deliveries")
    op.drop_index("ix_alert_deliveries_status_next_attempt_at", table_name="alert_deliveries")
    op.drop_table("alert_deliveries")
    op.drop_index("ix_security_alerts_at", table_name="security_alerts")
    op.drop_index("ix_security_alerts_user_id_kind_location_at", table_name="security_alerts")
    op.drop_table("security_alerts")
    op.drop_index("ix_login_events_email_id", table_name="login_events")
    op.drop_index("ix_login_events_user_id_success_at", table_name="login_events")
    op.drop_table("login_events")
