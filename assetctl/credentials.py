"""Where this machine keeps the session token, read in this order:

1. `ASSETCTL_TOKEN` (CI and scripts: no keyring, no prompt);
2. the OS keyring (service `assetctl`, one entry per profile);
3. a 0600 file, only where the user chose file storage (`auth login --insecure-storage` or
   `ASSETCTL_AUTH_STORAGE=file`).

Every keyring call runs with a timeout, so a broken D-Bus cannot hang the CLI, and a missing
keyring is never silently replaced by the file.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from assetctl.config import Settings
from assetctl.config_specs import ENV_PREFIX, data_dir
from assetctl.errors import InvalidInputError, NotAuthenticatedError, ServiceUnavailableError

SERVICE = "assetctl"
TOKEN_ENV = ENV_PREFIX + "TOKEN"
T = TypeVar("T")

WAYS_OUT = (
    "unlock or install an OS keyring (Secret Service, macOS Keychain, Windows Credential "
    "Locker), or keep the token in a private file with `assetctl auth login --insecure-storage` "
    "(or ASSETCTL_AUTH_STORAGE=file); scripts and CI can set ASSETCTL_TOKEN instead"
)


class KeyringUnavailable(Exception):
    """The keyring is missing, locked, or did not answer in time."""


@dataclass(frozen=True)
class StoredToken:
    token: str
    source: str  # "env", "keyring" or "file"


def _with_timeout(fn: Callable[[], T], timeout: float) -> T:
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except Exception as exc:  # noqa: BLE001 - any keyring failure means "unavailable"
            box["error"] = exc

    thread = threading.Thread(target=target, name="assetctl-keyring", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise KeyringUnavailable(f"the OS keyring did not answer within {timeout:g} s")
    if "error" in box:
        error = box["error"]
        if isinstance(error, KeyringUnavailable):
            raise error
        raise KeyringUnavailable(f"{type(error).__name__}: {error}".strip())
    return box["value"]  # type: ignore[return-value]


def _private_dir(path: Path) -> None:
    """Create `path` (0700) or accept it only as a real directory of ours: a symlink or
    someone else's directory could redirect or expose the token."""
    import stat

    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise InvalidInputError(
            f"{path} is not a directory of yours; refusing to keep a token there",
            hint="remove it (or the link) and log in again",
        )


def _write_private(path: Path, token: str) -> None:
    """Write the token file as 0600 from its first byte: a new file (O_EXCL, never through a
    symlink) renamed over the old one, so no link is followed and no other file chmodded."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    try:
        _private_dir(path.parent)
        fd = os.open(temp, flags, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(token)
            os.replace(temp, path)  # replaces a symlink itself, never its target
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    except OSError as exc:  # a full, read-only or foreign disk: the user can act on it
        raise ServiceUnavailableError(
            f"cannot write the token file {path}: {exc.strerror}",
            hint="free space or fix the directory's permissions, or use the OS keyring",
        ) from None


def _read_private(path: Path) -> str | None:
    """The token in `path`, read without following a symlink; None if there is none."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:  # ELOOP: a symlink where the token file should be
        raise NotAuthenticatedError(
            f"the token file {path} cannot be read safely ({exc.strerror})",
            hint="remove it and log in again",
        ) from None
    with os.fdopen(fd, encoding="utf-8") as handle:
        return handle.read().strip() or None


class TokenStore:
    def __init__(self, env: Mapping[str, str], settings: Settings) -> None:
        self.env = env
        self.settings = settings
        self.profile = settings.profile
        self.timeout = float(settings.values["keyring_timeout"])

    @property
    def file_path(self) -> Path:
        from assetctl.config import check_profile_name

        return data_dir(self.env) / "tokens" / f"{check_profile_name(self.profile)}.jwt"

    @property
    def prefers_file(self) -> bool:
        return bool(self.settings.values["auth_storage"] == "file")

    # --- keyring -----------------------------------------------------------------------

    def _keyring_call(self, action: Callable[[object], T]) -> T:
        def call() -> T:
            import keyring
            from keyring.backends import fail

            backend = keyring.get_keyring()
            if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
                kind = f"{type(backend).__module__}.{type(backend).__name__}"
                raise KeyringUnavailable(f"no usable OS keyring was found (backend {kind})")
            return action(backend)

        return _with_timeout(call, self.timeout)

    def check_keyring(self) -> None:
        """Raise KeyringUnavailable unless a usable keyring answers a read (a locked
        keyring fails or times out here, before anything is written anywhere)."""
        self._keyring_get()

    def _keyring_get(self) -> str | None:
        value = self._keyring_call(
            lambda backend: backend.get_password(SERVICE, self.profile)  # type: ignore[attr-defined]
        )
        return value if isinstance(value, str) and value else None

    # --- public API --------------------------------------------------------------------

    def load(self) -> StoredToken:
        """The token to use, or NotAuthenticatedError saying how to log in."""
        from_env = self.env.get(TOKEN_ENV, "").strip()
        if from_env:
            return StoredToken(from_env, "env")
        keyring_problem: str | None = None
        if not self.prefers_file:
            try:
                token = self._keyring_get()
            except KeyringUnavailable as exc:
                keyring_problem = str(exc)
            else:
                if token:
                    return StoredToken(token, "keyring")
        token = _read_private(self.file_path)
        if token:
            return StoredToken(token, "file")
        if keyring_problem and not self.prefers_file:
            raise NotAuthenticatedError(
                f"not logged in, and the OS keyring cannot be read: {keyring_problem}",
                hint=WAYS_OUT,
            )
        raise NotAuthenticatedError(
            "not logged in",
            hint="run `assetctl auth login --email YOU` (CI: set ASSETCTL_TOKEN)",
        )

    def save(self, token: str, *, insecure_file: bool) -> str:
        """Store the token; returns where ("keyring" or the file path)."""
        if insecure_file or self.prefers_file:
            path = self.file_path
            _write_private(path, token)
            self._forget_keyring()
            return str(path)
        self._keyring_call(
            lambda backend: backend.set_password(SERVICE, self.profile, token)  # type: ignore[attr-defined]
        )
        self.file_path.unlink(missing_ok=True)
        return "keyring"

    def _forget_keyring(self) -> None:
        # Best effort: a stale keyring entry would otherwise shadow the file.
        try:
            if self._keyring_get():
                self._keyring_call(
                    lambda backend: backend.delete_password(SERVICE, self.profile)  # type: ignore[attr-defined]
                )
        except KeyringUnavailable:
            pass

    def delete(self) -> None:
        """Forget the stored token wherever it is (never the environment variable)."""
        if not self.prefers_file:
            self._forget_keyring()
        self.file_path.unlink(missing_ok=True)
