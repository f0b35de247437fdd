"""The three ways a security alert is announced: a log record, a webhook POST, an email.

Each sender either returns (delivered) or raises ChannelError with a reason that is safe to
store and show: no URL path or query (webhook URLs embed tokens), no SMTP password. Values
that came from the caller (host name, OS user, email) are neutralised before they reach a
log line or a mail header, so CR/LF or terminal escapes cannot forge records.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from assetctl.config import Settings

LOG_EVENT = "security.login_alert"
logger = logging.getLogger("assetctl.security")


class ChannelError(Exception):
    """A delivery attempt failed; the message is safe to store and print."""


def neutralise(value: object) -> str:
    """`value` as one line of printable text: CR, LF, tabs and every other control or
    format character (ANSI escapes, bidi overrides, U+2028) become visible escapes."""
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char == "\r":
            out.append("\\r")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def _logfmt_value(value: object) -> str:
    text = neutralise(value)
    if text and not any(c in text for c in ' "=\\'):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def log_line(payload: Mapping[str, Any]) -> str:
    """The alert as one logfmt line: `event=security.login_alert alert_id=... ...`."""
    details = payload.get("details") or {}
    pairs: list[tuple[str, object]] = [
        ("event", LOG_EVENT),
        ("alert_id", payload.get("alert_id")),
        ("kind", payload.get("kind")),
        ("severity", payload.get("severity")),
        ("user", payload.get("user")),
        ("location", payload.get("location")),
        ("ip", details.get("ip")),
        ("country", details.get("country")),
        ("city", details.get("city")),
        ("hostname", details.get("hostname")),
        ("os_user", details.get("os_user")),
        ("at", payload.get("at")),
    ]
    return " ".join(f"{key}={_logfmt_value(value)}" for key, value in pairs if value is not None)


def send_log(payload: Mapping[str, Any]) -> None:
    """The console/log channel: a WARNING record, structured both as text and as extras."""
    logger.warning(
        log_line(payload),
        extra={
            "event": LOG_EVENT,
            "alert_id": payload.get("alert_id"),
            "alert_kind": payload.get("kind"),
            "severity": payload.get("severity"),
        },
    )


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def send_webhook(url: str, payload: Mapping[str, Any], timeout: float) -> None:
    """POST the alert as JSON; any 2xx is success. Redirects are not followed."""
    import httpx

    where = _where(url)
    try:
        response = httpx.post(
            url,
            json=dict(payload),
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": "assetctl", "Content-Type": "application/json"},
        )
    except httpx.TimeoutException:
        raise ChannelError(f"webhook {where}: no answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise ChannelError(f"webhook {where}: {type(exc).__name__}") from None
    if not 200 <= response.status_code < 300:
        raise ChannelError(f"webhook {where}: HTTP {response.status_code}")


def email_text(payload: Mapping[str, Any]) -> tuple[str, str]:
    """Subject and body of the alert email (plain text, neutralised values)."""
    details = payload.get("details") or {}
    user = neutralise(payload.get("user"))
    kind = str(payload.get("kind"))
    subject = f"[assetctl] {payload.get('severity')} security alert: {kind} for {user}"
    lines = [
        f"assetctl raised a security alert (#{payload.get('alert_id')}).",
        "",
        f"Account:   {user}",
        f"Alert:     {kind} ({payload.get('severity')})",
        f"New:       {neutralise(payload.get('location'))}",
        f"When:      {payload.get('at')}",
    ]
    for label, key in (
        ("IP", "ip"),
        ("Country", "country"),
        ("City", "city"),
        ("Host name", "hostname"),
        ("OS user", "os_user"),
        ("CLI", "cli_version"),
    ):
        if details.get(key) is not None:
            lines.append(f"{label + ':':<10} {neutralise(details[key])}")
    previous = details.get("previous")
    if isinstance(previous, dict):
        lines.append(
            f"Previous:  {neutralise(previous.get('ip'))} {neutralise(previous.get('country'))} "
            f"at {previous.get('at')} ({details.get('speed_kmh')} km/h needed)"
        )
    lines += [
        "",
        "If this login was not expected, disable the account (`assetctl user disable EMAIL`)",
        "and acknowledge the alert once handled (`assetctl alerts ack ID`).",
    ]
    return neutralise(subject), "\n".join(lines) + "\n"


def _smtp_options(url: str) -> tuple[Any, str, int, str | None, str | None, str]:
    parts = urlsplit(url)
    implicit_tls = parts.scheme == "smtps"
    port = parts.port or (465 if implicit_tls else 25)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    starttls = parse_qs(parts.query).get("starttls", ["auto"])[0]
    return implicit_tls, parts.hostname or "", port, user, password, starttls


def send_email(settings: Settings, payload: Mapping[str, Any], timeout: float) -> None:
    """Send the alert to `alert_email_to` through `smtp_url` (STARTTLS when offered, and
    always before a password is sent; `smtps://` for implicit TLS)."""
    import smtplib
    import ssl
    from email.message import EmailMessage

    url = str(settings.values["smtp_url"])
    implicit_tls, host, port, user, password, starttls = _smtp_options(url)
    recipients = [a.strip() for a in str(settings.values["alert_email_to"]).split(",") if a]
    subject, body = email_text(payload)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = str(settings.values["alert_email_from"])
    message["To"] = ", ".join(recipients)
    message.set_content(body)
    cafile = str(settings.values.get("smtp_ca_file") or "") or None
    where = f"mail server {host}:{port}"
    try:
        context = ssl.create_default_context(cafile=cafile)
        client: smtplib.SMTP
        if implicit_tls:
            client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            client.ehlo()
            secure = implicit_tls
            if not implicit_tls and starttls != "never":
                if client.has_extn("starttls"):
                    client.starttls(context=context)
                    client.ehlo()
                    secure = True
                elif starttls == "always":
                    raise ChannelError(f"{where} does not offer STARTTLS (starttls=always)")
            if user is not None:
                if not secure:
                    raise ChannelError(
                        f"{where} offers no TLS; refusing to send the SMTP password unencrypted"
                    )
                client.login(user, password or "")
            client.send_message(message, to_addrs=recipients)
    except ChannelError:
        raise
    except TimeoutError:
        raise ChannelError(f"{where}: no answer within {timeout:g} s") from None
    except ConnectionRefusedError:
        raise ChannelError(f"{where}: connection refused") from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        raise ChannelError(_scrub(f"{where}: {type(exc).__name__}: {exc}", [password])) from None


def _scrub(text: str, secrets: Iterable[str | None]) -> str:
    """Remove secrets (and line breaks) from an error text before it is stored or shown."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return neutralise(text)[:400]
