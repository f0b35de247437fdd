"""`assetctl alerts ...`: security alerts raised by logins from new locations."""

from __future__ import annotations

from typing import Annotated

import typer

from assetctl.cli.render import Output, render_list, render_record, resolve_format
from assetctl.cli.state import Effect, get_state

app = typer.Typer(help="Security alerts: logins from new locations.", no_args_is_help=True)

ALERT_FIELDS = ("id", "at", "user", "kind", "severity", "location", "ip", "country", "hostname",
                "acked_at", "acked_by", "deliveries", "details")  # fmt: skip
LIST_COLUMNS = ("id", "at", "user", "kind", "severity", "location", "acked_at")
REPORT_FIELDS = ("delivered", "failed", "pending", "errors")


@app.command("list")
def list_(
    ctx: typer.Context,
    user: Annotated[
        str | None, typer.Option("--user", help="Only this user's alerts (admins).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only alerts since a time (2026-11-01) or a duration (24h)."),
    ] = None,
    open_: Annotated[bool, typer.Option("--open", help="Only unacknowledged alerts.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000, help="At most N.")] = 100,
    output: Output = None,
) -> None:
    """List alerts, newest first. Admins see everyone's; others their own."""
    from assetctl.core.security.alerts import list_alerts, parse_since

    state = get_state(ctx)
    after = parse_since(since) if since else None
    rows = state.run(
        Effect.READ, list_alerts, email=user, since=after, open_only=open_, limit=limit
    )
    render_list(
        state, resolve_format(state, output), rows, columns=LIST_COLUMNS, fields=ALERT_FIELDS
    )


@app.command()
def ack(
    ctx: typer.Context,
    alert_id: Annotated[int, typer.Argument(metavar="ID", help="The alert's id.")],
    output: Output = None,
) -> None:
    """Acknowledge an alert once handled (admin); its location then counts as known."""
    from assetctl.core.security.alerts import ack_alert

    state = get_state(ctx)
    record = state.run(Effect.RECORD, ack_alert, alert_id)
    state.io.info(f"Alert {record['id']} acknowledged by {record['acked_by']}.")
    render_record(state, resolve_format(state, output), record, fields=ALERT_FIELDS)


@app.command()
def deliver(ctx: typer.Context, output: Output = None) -> None:
    """Send every notification still pending (webhook, email, log) now; for cron, no login
    needed. Exit 7 if any could not be sent; they stay pending and are retried later."""
    from assetctl.core.security.notify import deliver as send_pending
    from assetctl.errors import ServiceUnavailableError

    state = get_state(ctx)
    # No assetctl session: what this database login may see and close is the database's
    # decision (row-level security and the delivery functions), so cron needs no token.
    with state.transaction():
        pass  # the database exists and is migrated
    report = send_pending(state.factory.settings)
    render_record(state, resolve_format(state, output), report.record(), fields=REPORT_FIELDS)
    if report.failed:
        raise ServiceUnavailableError(
            f"{report.failed} notification(s) could not be sent: {report.errors[0]}",
            hint="they stay pending; fix the channel and run `assetctl alerts deliver` again",
        )
