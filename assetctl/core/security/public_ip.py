"""The caller's public IP address, asked of echo services at login.

All services are asked at once under ONE total timeout, so a hanging service costs at most
that timeout, never one timeout per service. An answer is accepted only if it is at most 64
bytes, parses as an IP address and is global (an IPv4-mapped IPv6 address is unwrapped
first): an HTML error page, a private or loopback address, or a huge body is a failure.
Failures never raise: the result is simply empty, with reasons for `-v`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import httpx

MAX_ANSWER_BYTES = 64


@dataclass(frozen=True)
class PublicAddress:
    address: str
    source: str


@dataclass(frozen=True)
class IpLookup:
    """What the echo services said: distinct global addresses (in the order of the
    configured URLs) and, for each service that failed, why."""

    addresses: tuple[PublicAddress, ...]
    problems: tuple[str, ...]
    disabled: bool = False

    @property
    def primary(self) -> str | None:
        return self.addresses[0].address if self.addresses else None


class BadAnswer(ValueError):
    """An echo service answered something that is not a usable public address."""


def configured_urls(value: str) -> list[str]:
    """The `public_ip_urls` setting as a list; empty when it is `off`."""
    if value.strip().lower() == "off":
        return []
    return [url.strip() for url in value.split(",") if url.strip()]


def parse_answer(body: bytes) -> str:
    """The global IP address in an echo service's answer, or BadAnswer saying why not."""
    if len(body) > MAX_ANSWER_BYTES:
        raise BadAnswer(f"answer longer than {MAX_ANSWER_BYTES} bytes")
    try:
        text = body.decode("ascii").strip()
        address = ipaddress.ip_address(text)
    except (UnicodeDecodeError, ValueError):
        raise BadAnswer("answer is not an IP address") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not address.is_global:
        raise BadAnswer(f"{address} is not a public (global) address")
    return str(address)


def _host(url: str) -> str:
    try:
        return urlsplit(url).netloc or url
    except ValueError:
        return url


async def _ask(client: httpx.AsyncClient, url: str) -> str:
    async with client.stream("GET", url, headers={"Accept": "text/plain"}) as response:
        if response.status_code != 200:
            raise BadAnswer(f"HTTP {response.status_code}")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
            raise BadAnswer(f"answer longer than {MAX_ANSWER_BYTES} bytes")
        body = b""
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_ANSWER_BYTES:
                # Stop reading: a 10 MB answer must cost no more than this.
                raise BadAnswer(f"answer longer than {MAX_ANSWER_BYTES} bytes")
    return parse_answer(body)


async def _discover(urls: list[str], timeout: float) -> IpLookup:
    import asyncio

    import httpx

    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        tasks = [asyncio.create_task(_ask(client, url)) for url in urls]
        _done, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    addresses: list[PublicAddress] = []
    problems: list[str] = []
    for url, task in zip(urls, tasks, strict=True):
        if task in pending:
            problems.append(f"{_host(url)}: no answer within {timeout:g} s")
            continue
        error = task.exception()
        if error is None:
            address = task.result()
            if all(seen.address != address for seen in addresses):
                addresses.append(PublicAddress(address, url))
            continue
        reason = str(error) if isinstance(error, BadAnswer) else type(error).__name__
        if isinstance(error, httpx.TimeoutException):
            reason = f"no answer within {timeout:g} s"
        elif isinstance(error, httpx.ConnectError):
            reason = "cannot connect"
        problems.append(f"{_host(url)}: {reason}")
    return IpLookup(tuple(addresses), tuple(problems))


def discover(setting: str, timeout: float) -> IpLookup:
    """Ask every configured echo service at once; never raises."""
    urls = configured_urls(setting)
    if not urls:
        return IpLookup((), ("public IP lookup is off (public_ip_urls = off)",), disabled=True)
    import asyncio

    try:
        return asyncio.run(_discover(urls, timeout))
    except Exception as exc:  # noqa: BLE001 - a lookup failure must never block a login
        return IpLookup((), (f"public IP lookup failed: {type(exc).__name__}",))
