"""`assetctl auth ...`: register, log in and out, and inspect the session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from assetctl.cli.passwords import read_passwords
from assetctl.cli.render import Output, render_list, render_record, resolve_format
from assetctl.cli.state import AppState, Effect, get_state
from assetctl.errors import NotAuthenticatedError

if TYPE_CHECKING:
    from assetctl.core.auth.permissions import Principal

app = typer.Typer(
    help="Log in and out, register users, inspect your session.", no_args_is_help=True
)

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]
Email = Annotated[str, typer.Option("--email", help="Email address (case-insensitive).")]
USER_FIELDS = ("id", "email", "name", "role", "active", "locked", "locked_until", "created_at",
               "last_login_at")  # fmt: skip
STATUS_FIELDS = ("email", "name", "role", "expires_at", "source", "profile")


@app.command()
def register(
    ctx: typer.Context,
    email: Email,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    role: Annotated[str | None, typer.Option(help="admin, operator or viewer.")] = None,
    password_stdin: PasswordStdin = False,
    output: Output = None,
) -> None:
    """Create a user. The first user of a new database becomes admin and needs no login."""
    from assetctl.core.auth.accounts import register as register_user

    state = get_state(ctx)
    (password,) = read_passwords([("Password for the new user", True)], from_stdin=password_stdin)
    record = state.run_bootstrap(
        Effect.AUTH, register_user, email=email, name=name, role=role, password=password
    )
    state.io.info(f"Registered {record['email']} as {record['role']}.")
    render_record(state, resolve_format(state, output), record, fields=USER_FIELDS)


@app.command()
def login(
    ctx: typer.Context,
    email: Email,
    password_stdin: PasswordStdin = False,
    insecure_storage: Annotated[
        bool,
        typer.Option(
            "--insecure-storage", help="Keep the token in a 0600 file instead of the OS keyring."
        ),
    ] = False,
) -> None:
    """Log in and keep the session token in the OS keyring."""
    from assetctl.core.security.channels import neutralise
    from assetctl.core.security.login_events import audited_login, probe
    from assetctl.core.security.notify import deliver
    from assetctl.credentials import WAYS_OUT, KeyringUnavailable

    state = get_state(ctx)
    store = state.factory.token_store()
    to_file = insecure_storage or store.prefers_file
    if not to_file:
        try:
            store.check_keyring()
        except KeyringUnavailable as exc:
            raise NotAuthenticatedError(
                f"cannot keep the session token: {exc}", hint=WAYS_OUT
            ) from None
    (password,) = read_passwords([("Password", False)], from_stdin=password_stdin)
    # The public IP lookup (up to public_ip_timeout) runs before any database lock is taken.
    found = probe(state.factory.settings, state.factory.env)
    if state.verbose:
        for problem in found.lookup.problems:
            state.io.warn(f"public IP lookup: {problem}")
    if found.geo_warning:
        state.io.warn(found.geo_warning)
    with state.transaction(write=True) as session:
        outcome = audited_login(
            session, state.factory.settings, found, email=email, password=password
        )
    result = outcome.result
    where = store.save(result.token, insecure_file=to_file)
    who = result.principal
    place = "the OS keyring" if where == "keyring" else f"{where} (file storage)"
    state.io.info(
        f"Logged in as {neutralise(who.email)} ({who.role}) until "
        f"{who.expires_at:%Y-%m-%d %H:%M} UTC; token kept in {place}."
    )
    if state.factory.env.get("ASSETCTL_TOKEN"):
        state.io.warn("ASSETCTL_TOKEN is set and takes precedence over this login")
    if outcome.alerts:
        _announce(state, who.email, outcome.alerts)
    if outcome.delivery_ids:
        report = deliver(state.factory.settings, outcome.delivery_ids)
        for error in report.errors:
            state.io.warn(
                f"alert notification not sent ({error}); it stays queued and is retried by "
                "the next command or `assetctl alerts deliver`"
            )


def _announce(state: AppState, email: str, alerts: list[dict[str, Any]]) -> None:
    """Tell the person logging in what was seen, and what to do if it was not them."""
    from assetctl.core.security.channels import neutralise

    for alert in alerts:
        details = alert["details"]
        place = ", ".join(str(p) for p in (details.get("city"), details.get("country")) if p)
        seen = f"{details.get('ip')}" + (f" ({place})" if place else "")
        if alert["kind"] == "new_ip":
            what = f"from a new IP address {seen}"
        elif alert["kind"] == "new_country":
            what = f"from a new country: {seen}"
        else:
            before = details.get("previous") or {}
            what = (
                f"from {seen}, {details.get('distance_km')} km from the previous login "
                f"({before.get('ip')}, {before.get('country')}) only {details.get('hours')} h "
                "earlier: faster than anyone can travel"
            )
        state.io.warn(
            neutralise(
                f"security alert {alert['id']} ({alert['severity']}): this login to {email} "
                f"came {what}."
            )
        )
    state.io.warn(
        "if this was not you: change your password (`assetctl auth passwd`), end every "
        "session (`assetctl auth logout --all`) and tell your administrator"
    )


@app.command()
def logout(
    ctx: typer.Context,
    all_: Annotated[
        bool, typer.Option("--all", help="Revoke every session of your account, everywhere.")
    ] = False,
) -> None:
    """Revoke this session (or all of them) and forget the stored token."""
    from assetctl.core.auth.accounts import logout as revoke

    state = get_state(ctx)
    store = state.factory.token_store()
    try:
        state.run(Effect.AUTH, revoke, everywhere=all_)
    except NotAuthenticatedError as exc:
        if all_:
            raise
        state.io.info(f"No valid session to revoke ({exc.message}).")
    else:
        state.io.info("Revoked every session of your account." if all_ else "Logged out.")
    store.delete()
    if state.factory.env.get("ASSETCTL_TOKEN"):
        state.io.warn("ASSETCTL_TOKEN is still set in your environment")


def _status(state: AppState) -> dict[str, Any]:
    def read(session: Any, caller: Principal) -> dict[str, Any]:
        del session
        return {
            "email": caller.email,
            "name": caller.name,
            "role": caller.role,
            "expires_at": caller.expires_at,
        }

    record = state.run(Effect.READ, read)
    record["source"] = state.factory.token_store().load().source
    record["profile"] = state.factory.settings.profile
    return record


@app.command()
def whoami(ctx: typer.Context, output: Output = None) -> None:
    """Print who you are logged in as."""
    state = get_state(ctx)
    record = _status(state)
    fmt = resolve_format(state, output)
    if fmt in ("table", "plain"):
        print(record["email"], file=state.io.out)
        return
    render_record(state, fmt, record, fields=STATUS_FIELDS)


@app.command()
def status(ctx: typer.Context, output: Output = None) -> None:
    """Who you are, your role, when the session expires and where the token came from."""
    state = get_state(ctx)
    render_record(state, resolve_format(state, output), _status(state), fields=STATUS_FIELDS)


@app.command()
def token(ctx: typer.Context) -> None:
    """Print the session token (for ASSETCTL_TOKEN in scripts and CI)."""
    state = get_state(ctx)
    _status(state)  # refuse to hand out a token that no longer works
    print(state.factory.token_store().load().token, file=state.io.out)


@app.command()
def passwd(ctx: typer.Context, password_stdin: PasswordStdin = False) -> None:
    """Change your password (stdin: current password, then the new one, one per line).
    Every session of your account is revoked; log in again afterwards."""
    from assetctl.core.auth.accounts import change_password

    state = get_state(ctx)
    current, new = read_passwords(
        [("Current password", False), ("New password", True)], from_stdin=password_stdin
    )
    state.run(Effect.AUTH, change_password, current, new)
    state.factory.token_store().delete()
    state.io.info("Password changed; every session was revoked. Log in again.")


HISTORY_FIELDS = ("id", "at", "email", "success", "ip", "ip_source", "public_ips",
                  "db_client_addr", "hostname", "os_user", "cli_version", "jti", "country",
                  "city", "latitude", "longitude", "accuracy_radius", "network")  # fmt: skip
HISTORY_COLUMNS = ("at", "email", "success", "ip", "country", "city", "hostname")


@app.command()
def history(
    ctx: typer.Context,
    user: Annotated[
        str | None, typer.Option("--user", help="Another user's logins (admins only).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000, help="At most N.")] = 50,
    output: Output = None,
) -> None:
    """Your logins (and failed attempts), newest first, with IP and location."""
    from assetctl.core.security.login_events import login_history

    state = get_state(ctx)
    rows = state.run(Effect.READ, login_history, email=user, limit=limit)
    render_list(
        state, resolve_format(state, output), rows, columns=HISTORY_COLUMNS, fields=HISTORY_FIELDS
    )
