"""Issue 4: alert notifications that fail are kept and delivered later, by the next command
or by `alerts deliver`; STARTTLS with a password; no secret in any captured output."""

from __future__ import annotations

import ssl
from pathlib import Path

from tests.alert_fakes import (
    IP_A,
    IP_B,
    IP_C,
    Echo,
    Smtp,
    Webhook,
    echo,
    self_signed_cert,
    smtp,
    webhook,
)
from tests.alert_helpers import (
    SMTP_PASSWORD,
    alerts,
    assert_no_secrets,
    deliveries,
    login,
    make_all_due,
    secrets,
    set_policy,
)
from tests.auth_helpers import register
from tests.conftest import Cli

__all__ = ["echo", "smtp", "webhook"]

USER = "user@example.com"


def _env(cli: Cli, echo: Echo, webhook: Webhook, smtp: Smtp, *answers: str) -> dict[str, str]:
    """The channels in the database policy; the caller's environment for the rest."""
    set_policy(
        cli,
        {
            "alert_webhook_url": webhook.url + "?token=hook-Secret-777",
            "smtp_url": f"smtp://127.0.0.1:{smtp.port}",
            "alert_email_to": "security@example.com",
        },
    )
    return {"ASSETCTL_PUBLIC_IP_URLS": echo.set("/seq", *answers), "ASSETCTL_ALERT_TIMEOUT": "0.5"}


def _status(url: str) -> dict[str, tuple[str, int]]:
    return {d["channel"]: (d["status"], d["attempts"]) for d in deliveries(url)}


def test_failed_notifications_stay_pending_and_the_next_command_delivers_them(
    cli: Cli, db_url: str, echo: Echo, webhook: Webhook, smtp: Smtp
) -> None:
    register(cli, USER, "viewer")
    env = _env(cli, echo, webhook, smtp, IP_A, IP_B)
    assert login(cli, USER, env).exit_code == 0
    webhook.mode = "error"  # and the SMTP server is not running: connection refused
    result = login(cli, USER, env)
    assert result.exit_code == 0, result.stderr
    assert "if this was not you" in result.stderr
    assert "alert notification not sent (webhook http://127.0.0.1" in result.stderr
    assert "HTTP 500" in result.stderr and "connection refused" in result.stderr
    [alert] = alerts(db_url)
    assert _status(db_url) == {
        "log": ("delivered", 1),
        "webhook": ("pending", 1),
        "email": ("pending", 1),
    }
    errors = " ".join(d["last_error"] or "" for d in deliveries(db_url))
    assert "hook-Secret-777" not in errors and "/hook" not in errors
    shown = cli.ok("policy", "show", env=env).stdout
    assert "hook-Secret-777" not in shown and "alert_webhook_url\thttp://127.0.0.1" in shown

    # Still failing: `alerts deliver` says so (exit 7) and keeps them.
    failing = cli("alerts", "deliver", "-o", "json", env=env)
    assert failing.exit_code == 7
    assert "could not be sent" in failing.stderr
    assert failing.json()["pending"] == 2
    assert _status(db_url)["webhook"] == ("pending", 2)

    # Servers back; a command that has nothing to do with alerts delivers them once the
    # backoff has passed.
    webhook.mode = "ok"
    smtp.start()
    unrelated = cli("asset", "list", "-o", "json", env=env)
    assert unrelated.exit_code == 0 and unrelated.json()["items"] == []
    assert _status(db_url)["webhook"] == ("pending", 2)  # backoff not over yet
    make_all_due(db_url)
    assert cli("asset", "list", "-o", "json", env=env).exit_code == 0
    assert _status(db_url) == {
        "log": ("delivered", 1),
        "webhook": ("delivered", 3),
        "email": ("delivered", 3),
    }
    assert [p["alert_id"] for p in webhook.received] == [alert["id"]]
    assert len(smtp.handler.messages) == 1
    done = cli.ok("alerts", "deliver", "-o", "json", env=env).json()
    assert done == {"delivered": 0, "failed": 0, "pending": 0, "errors": []}
    assert len(webhook.received) == 1  # never sent twice


def test_a_hanging_webhook_is_retried_by_alerts_deliver(
    cli: Cli, db_url: str, echo: Echo, webhook: Webhook, smtp: Smtp
) -> None:
    smtp.start()
    register(cli, USER, "viewer")
    env = _env(cli, echo, webhook, smtp, IP_A, IP_C)
    assert login(cli, USER, env).exit_code == 0
    webhook.mode = "hang"
    result = login(cli, USER, env)
    assert result.exit_code == 0
    assert "no answer within 0.5 s" in result.stderr
    assert _status(db_url)["webhook"] == ("pending", 1)
    assert _status(db_url)["email"] == ("delivered", 1)
    webhook.mode = "ok"
    report = cli.ok("alerts", "deliver", "-o", "json", env=env).json()
    assert (report["delivered"], report["pending"]) == (1, 0)
    assert _status(db_url)["webhook"] == ("delivered", 2)
    assert [p["details"]["ip"] for p in webhook.received] == [IP_C]


def test_email_over_starttls_with_a_password(
    cli: Cli, db_url: str, echo: Echo, tmp_path: Path
) -> None:
    from aiosmtpd.smtp import AuthResult

    from tests.alert_fakes import MailHandler, Smtp, free_port

    cert, key = self_signed_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    seen: list[tuple[str, str]] = []

    def authenticator(server: object, session: object, envelope: object, mechanism: str,
                      data: object) -> AuthResult:  # fmt: skip
        login_, password = data.login.decode(), data.password.decode()  # type: ignore[attr-defined]
        seen.append((login_, password))
        return AuthResult(success=password == SMTP_PASSWORD, auth_data=data)

    server = Smtp(free_port(), MailHandler()).start(
        tls_context=context, require_starttls=True, authenticator=authenticator,
        auth_required=True,
    )  # fmt: skip
    try:
        register(cli, USER, "viewer")
        smtp_url = f"smtp://alerts:{SMTP_PASSWORD}@127.0.0.1:{server.port}?starttls=always"
        set_policy(
            cli,
            {"smtp_url": smtp_url, "alert_email_to": "security@example.com, oncall@example.com"},
        )
        env = {
            "ASSETCTL_PUBLIC_IP_URLS": echo.set("/seq", IP_A, IP_B),
            "ASSETCTL_SMTP_CA_FILE": str(cert),
        }
        first = login(cli, USER, env)
        second = login(cli, USER, env)
        assert second.exit_code == 0, second.stderr
        assert "not sent" not in second.stderr
        assert seen == [("alerts", SMTP_PASSWORD)]
        assert server.handler.logins == ["alerts"]
        [(_, recipients, content)] = server.handler.messages
        assert recipients == ["security@example.com", "oncall@example.com"]
        assert _status(db_url)["email"] == ("delivered", 1)
        shown = cli.ok("policy", "show", env=env)
        assert f"smtp://alerts:***@127.0.0.1:{server.port}" in shown.stdout
        captured = [first.stderr, second.stdout, second.stderr, shown.stdout, shown.stderr,
                    content.decode()]  # fmt: skip
        assert_no_secrets(captured, secrets(cli, db_url, [SMTP_PASSWORD]))

        # A wrong password: the delivery stays pending, and its error names no secret.
        set_policy(cli, {"smtp_url": smtp_url.replace("4711", "0000")})
        wrong = dict(env)
        wrong["ASSETCTL_PUBLIC_IP_URLS"] = echo.set("/c", IP_C)
        wrong["ASSETCTL_ALERT_TIMEOUT"] = "1"
        third = login(cli, USER, wrong)
        assert third.exit_code == 0 and "alert notification not sent" in third.stderr
        assert "smtp-Secret-pw-0000" not in third.stderr
        pending = [d for d in deliveries(db_url) if d["status"] == "pending"]
        assert len(pending) == 1 and "mail server 127.0.0.1" in pending[0]["last_error"]
        assert "smtp-Secret-pw" not in pending[0]["last_error"]
    finally:
        server.stop()


def test_a_password_is_never_sent_without_tls(
    cli: Cli, db_url: str, echo: Echo, smtp: Smtp
) -> None:
    smtp.start()  # plain SMTP, no STARTTLS offered
    register(cli, USER, "viewer")
    set_policy(
        cli,
        {
            "smtp_url": f"smtp://alerts:{SMTP_PASSWORD}@127.0.0.1:{smtp.port}",
            "alert_email_to": "security@example.com",
        },
    )
    env = {"ASSETCTL_PUBLIC_IP_URLS": echo.set("/seq", IP_A, IP_B)}
    login(cli, USER, env)
    result = login(cli, USER, env)
    assert result.exit_code == 0
    assert "refusing to send the SMTP password unencrypted" in result.stderr
    assert smtp.handler.messages == []
    assert _status(db_url)["email"] == ("pending", 1)
