"""Authentication and authorization on SQLite and PostgreSQL: bootstrap, roles, passwords,
sessions and every forged or stale token the issue lists."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import jwt
import pytest

from tests.auth_helpers import (
    PASSWORD,
    as_user,
    claims_of,
    db_secret,
    forge,
    now,
    query,
    register,
    token_for,
)
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Cli, add_args, base_env, run_fresh

NOT_VALID = "your session is not valid"


def test_first_register_needs_no_session_and_makes_an_admin(
    tmp_path: Path, sqlite_url: str
) -> None:
    # A brand-new database: migrate an empty SQLite file through the CLI.
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    cli = Cli(base_env(tmp_path, url))
    cli.ok("db", "upgrade")
    result = cli.ok(
        "auth", "register", "--email", "First@Example.com", "--password-stdin", "-o", "json",
        input=PASSWORD + "\n",
    )  # fmt: skip
    record = result.json()
    assert record["email"] == "first@example.com"
    assert record["role"] == "admin"
    # The second registration needs an admin session.
    second = cli(
        "auth", "register", "--email", "b@example.com", "--password-stdin", input=PASSWORD + "\n"
    )
    assert second.exit_code == 4
    assert "needs an admin session" in second.stderr
    assert [u["email"] for u in query(url, "SELECT email FROM users")] == ["first@example.com"]
    del sqlite_url


def test_first_user_cannot_be_created_with_a_lesser_role(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    cli = Cli(base_env(tmp_path, url))
    cli.ok("db", "upgrade")
    result = cli(
        "auth", "register", "--email", "a@example.com", "--role", "viewer", "--password-stdin",
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "always an admin" in result.stderr
    assert query(url, "SELECT id FROM users") == []


def test_roles_are_enforced(cli: Cli, db_url: str) -> None:
    register(cli, "viewer@example.com", "viewer")
    register(cli, "op@example.com", "operator")
    viewer = as_user(cli, token_for(cli, "viewer@example.com"))
    operator = as_user(cli, token_for(cli, "op@example.com"))

    denied = viewer(*add_args("LAP-1"))
    assert denied.exit_code == 5
    assert "viewer" in denied.stderr
    assert viewer.ok("asset", "list", "-o", "json").json()["items"] == []

    operator.ok(*add_args("LAP-1"))
    assert operator("asset", "delete", "LAP-1", "--yes").exit_code == 5
    assert operator("user", "set-role", "viewer@example.com", "admin").exit_code == 5
    assert operator("user", "list").exit_code == 5
    assert (
        operator(
            "auth",
            "register",
            "--email",
            "x@example.com",
            "--password-stdin",
            input=PASSWORD + "\n",
        ).exit_code
        == 5
    )
    # The logged-in user is the actor in history.
    events = operator.ok("asset", "history", "LAP-1", "-o", "json").json()
    assert events[0]["actor"] == "op@example.com"
    rows = query(db_url, "SELECT deleted_at FROM assets WHERE tag = 'LAP-1'")
    assert rows == [{"deleted_at": None}]


def test_role_change_and_disable_apply_on_the_next_command(cli: Cli) -> None:
    register(cli, "op@example.com", "operator")
    operator = as_user(cli, token_for(cli, "op@example.com"))
    operator.ok(*add_args("LAP-1"))
    cli.ok("user", "set-role", "op@example.com", "viewer")
    assert operator(*add_args("LAP-2")).exit_code == 5
    cli.ok("user", "disable", "op@example.com")
    result = operator("asset", "list")
    assert result.exit_code == 4
    assert "disabled" in result.stderr
    cli.ok("user", "enable", "op@example.com")
    # Disabling revoked the old sessions for good; a new login works.
    assert operator("asset", "list").exit_code == 4
    as_user(cli, token_for(cli, "op@example.com")).ok("asset", "list")


def test_last_admin_cannot_be_demoted_or_disabled(cli: Cli) -> None:
    assert cli("user", "set-role", ADMIN_EMAIL, "viewer").exit_code == 6
    assert cli("user", "disable", ADMIN_EMAIL).exit_code == 6
    assert cli.ok("auth", "whoami").stdout.strip() == ADMIN_EMAIL


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("", "empty"),
        ("x" * 11, "too short"),
        ("y" * 2048, "longer than 1024 bytes"),
    ],
)
def test_bad_passwords_are_refused(cli: Cli, db_url: str, password: str, reason: str) -> None:
    result = cli(
        "auth", "register", "--email", "new@example.com", "--password-stdin",
        input=password + "\n",
    )  # fmt: skip
    assert result.exit_code == 2
    assert reason in result.stderr
    assert password not in result.stderr or password == ""
    assert query(db_url, "SELECT email FROM users WHERE email = 'new@example.com'") == []


def test_password_is_never_truncated(cli: Cli) -> None:
    long = "z" * 1000
    register(cli, "long@example.com", "viewer", password=long)
    env = {"ASSETCTL_TOKEN": "", "ASSETCTL_AUTH_STORAGE": "file"}
    wrong = cli(
        "auth", "login", "--email", "long@example.com", "--password-stdin",
        input=long[:-1] + "\n", env=env,
    )  # fmt: skip
    assert wrong.exit_code == 4
    token_for(cli, "long@example.com", password=long)


def test_invalid_and_duplicate_emails(cli: Cli, db_url: str) -> None:
    for sneaky in ("evil\x1b[31m@example.com", "admin\u202e@example.com"):
        refused = cli("auth", "register", "--email", sneaky, "--password-stdin",
                      input=PASSWORD + "\n")  # fmt: skip
        assert refused.exit_code == 2, sneaky
        assert "\x1b" not in refused.stderr
    bad = cli("auth", "register", "--email", "not-an-email", "--password-stdin",
              input=PASSWORD + "\n")  # fmt: skip
    assert bad.exit_code == 2
    assert "not a valid email" in bad.stderr
    dup = cli("auth", "register", "--email", ADMIN_EMAIL.upper(), "--password-stdin",
              input=PASSWORD + "\n")  # fmt: skip
    assert dup.exit_code == 6
    assert "already exists" in dup.stderr
    assert len(query(db_url, "SELECT id FROM users")) == 1


def test_password_flag_value_is_not_accepted(cli: Cli) -> None:
    result = cli("auth", "login", "--email", ADMIN_EMAIL, "--password", "secret")
    assert result.exit_code == 2


def test_no_terminal_and_no_password_stdin_is_a_usage_error(cli: Cli) -> None:
    result = cli("auth", "login", "--email", ADMIN_EMAIL, env={"ASSETCTL_AUTH_STORAGE": "file"})
    assert result.exit_code == 2
    assert "--password-stdin" in result.stderr


def _login(cli: Cli, email: str, password: str) -> tuple[int, str]:
    result = cli(
        "auth", "login", "--email", email, "--password-stdin", input=password + "\n",
        env={"ASSETCTL_TOKEN": "", "ASSETCTL_AUTH_STORAGE": "file"},
    )  # fmt: skip
    return result.exit_code, result.stderr


def test_login_failures_share_one_message_and_one_hash(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assetctl.core.auth import passwords

    register(cli, "gone@example.com", "viewer")
    cli.ok("user", "disable", "gone@example.com")
    for _ in range(5):
        _login(cli, "locked@example.com", "wrong password!")  # unknown: no lock, no row
    register(cli, "locked@example.com", "viewer")
    for _ in range(5):
        assert _login(cli, "locked@example.com", "wrong password!")[0] == 4

    calls: list[str] = []
    real = passwords.verify_password

    def counting(password: str, password_hash: str | None) -> tuple[bool, str | None]:
        calls.append("verify")
        return real(password, password_hash)

    monkeypatch.setattr(passwords, "verify_password", counting)
    # On PostgreSQL the client computes the server-relief proof instead (one hash as well).
    real_proof = passwords.relief_proof

    def counting_proof(password: str, settings: str) -> str:
        calls.append("proof")
        return real_proof(password, settings)

    monkeypatch.setattr(passwords, "relief_proof", counting_proof)
    outcomes = {
        "wrong password": _login(cli, ADMIN_EMAIL, "not the password"),
        "unknown email": _login(cli, "nobody@example.com", PASSWORD),
        "locked account": _login(cli, "locked@example.com", PASSWORD),
        "disabled account": _login(cli, "gone@example.com", PASSWORD),
    }
    assert {code for code, _ in outcomes.values()} == {4}
    assert len({stderr for _, stderr in outcomes.values()}) == 1
    assert len(calls) == 4  # a hash was computed every time
    for _, stderr in outcomes.values():
        assert PASSWORD not in stderr


def test_lockout_and_admin_unlock(cli: Cli, db_url: str) -> None:
    register(cli, "v@example.com", "viewer")
    for _ in range(4):
        assert _login(cli, "v@example.com", "wrong password!")[0] == 4
    token_for(cli, "v@example.com")  # 4 failures: still allowed, and the counter resets
    for _ in range(5):
        _login(cli, "v@example.com", "wrong password!")
    assert _login(cli, "v@example.com", PASSWORD)[0] == 4
    (user,) = query(
        db_url, "SELECT failed_logins, locked_until FROM users WHERE email = 'v@example.com'"
    )
    assert user["failed_logins"] == 5
    assert user["locked_until"] is not None
    listed = cli.ok("user", "list", "-o", "json").json()
    assert {u["email"]: u["locked"] for u in listed}["v@example.com"] is True
    cli.ok("user", "unlock", "v@example.com")
    token_for(cli, "v@example.com")


def test_lockout_threshold_is_configurable(cli: Cli) -> None:
    register(cli, "v@example.com", "viewer")
    cli.ok("policy", "set", "lockout_threshold", "2")
    env = {"ASSETCTL_TOKEN": "", "ASSETCTL_AUTH_STORAGE": "file"}
    for _ in range(2):
        cli("auth", "login", "--email", "v@example.com", "--password-stdin",
            input="wrong password!\n", env=env)  # fmt: skip
    locked = cli("auth", "login", "--email", "v@example.com", "--password-stdin",
                 input=PASSWORD + "\n", env=env)  # fmt: skip
    assert locked.exit_code == 4


def test_concurrent_failures_are_all_counted(cli: Cli, db_url: str) -> None:
    import subprocess

    register(cli, "v@example.com", "viewer")
    cli.ok("policy", "set", "lockout_threshold", "50")
    env = {**cli.env, "ASSETCTL_TOKEN": "", "ASSETCTL_AUTH_STORAGE": "file"}
    from tests.conftest import ASSETCTL_BIN

    procs = [
        subprocess.Popen(
            [str(ASSETCTL_BIN), "auth", "login", "--email", "v@example.com", "--password-stdin"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for _ in range(6)
    ]
    for proc in procs:
        proc.communicate(b"wrong password!\n", timeout=60)
        assert proc.returncode == 4
    (user,) = query(db_url, "SELECT failed_logins FROM users WHERE email = 'v@example.com'")
    assert user["failed_logins"] == 6


def test_logout_revokes_the_session(cli: Cli, db_url: str) -> None:
    register(cli, "v@example.com", "viewer")
    token = token_for(cli, "v@example.com")
    user = as_user(cli, token)
    user.ok("auth", "logout")
    result = user("asset", "list")
    assert result.exit_code == 4
    assert "logout" in result.stderr
    (row,) = query(db_url, "SELECT revoked_at FROM sessions WHERE jti = :jti",
                   jti=claims_of(token)["jti"])  # fmt: skip
    assert row["revoked_at"] is not None


def test_logout_all_and_password_change_revoke_every_session(cli: Cli) -> None:
    register(cli, "v@example.com", "viewer")
    first, second = token_for(cli, "v@example.com"), token_for(cli, "v@example.com")
    as_user(cli, first).ok("auth", "logout", "--all")
    assert as_user(cli, second)("asset", "list").exit_code == 4

    third = token_for(cli, "v@example.com")
    new_password = "another long passphrase"
    as_user(cli, third).ok(
        "auth", "passwd", "--password-stdin", input=f"{PASSWORD}\n{new_password}\n"
    )
    assert as_user(cli, third)("asset", "list").exit_code == 4
    assert _login(cli, "v@example.com", PASSWORD)[0] == 4
    token_for(cli, "v@example.com", password=new_password)


def test_passwd_with_wrong_current_password(cli: Cli) -> None:
    result = cli(
        "auth", "passwd", "--password-stdin", input="wrong one here\nnew long passphrase\n"
    )
    assert result.exit_code == 4
    assert cli.ok("auth", "whoami").stdout.strip() == ADMIN_EMAIL


def test_status_whoami_and_token(cli: Cli) -> None:
    status = cli.ok("auth", "status", "-o", "json").json()
    assert status["email"] == ADMIN_EMAIL
    assert status["role"] == "admin"
    assert status["source"] == "env"
    assert status["expires_at"].endswith("Z")
    assert cli.ok("auth", "token").stdout.strip() == cli.env["ASSETCTL_TOKEN"]


def test_token_lifetime_is_configurable(cli: Cli) -> None:
    env = {"ASSETCTL_TOKEN_LIFETIME": "90s"}
    register(cli, "v@example.com", "viewer")
    token = token_for(Cli({**cli.env, **env}), "v@example.com")
    claims = claims_of(token)
    assert claims["exp"] - claims["iat"] == 90


def test_short_jwt_secret_is_rejected_naming_the_variable(cli: Cli) -> None:
    result = cli("asset", "list", env={"ASSETCTL_JWT_SECRET": "too short"})
    assert result.exit_code == 2
    assert "ASSETCTL_JWT_SECRET" in result.stderr
    assert "too short" not in result.stderr


def test_no_token_says_how_to_log_in(cli: Cli) -> None:
    result = cli("asset", "list", env={"ASSETCTL_TOKEN": "", "ASSETCTL_AUTH_STORAGE": "file"})
    assert result.exit_code == 4
    assert "not logged in" in result.stderr
    assert "assetctl auth login" in result.stderr


def test_no_usable_keyring_fails_login_naming_both_ways_out(cli: Cli, db_url: str) -> None:
    env = {"ASSETCTL_TOKEN": "", "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    before = query(db_url, "SELECT jti FROM sessions")
    result = cli("auth", "login", "--email", ADMIN_EMAIL, "--password-stdin",
                 input=ADMIN_PASSWORD + "\n", env=env)  # fmt: skip
    assert result.exit_code == 4
    assert "--insecure-storage" in result.stderr
    assert "ASSETCTL_AUTH_STORAGE=file" in result.stderr
    assert query(db_url, "SELECT jti FROM sessions") == before  # no session was opened
    listing = cli("asset", "list", env=env)
    assert listing.exit_code == 4
    assert "keyring" in listing.stderr


def test_insecure_storage_writes_a_private_file(cli: Cli, tmp_path: Path) -> None:
    env = {"ASSETCTL_TOKEN": "", "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    cli.ok("auth", "login", "--email", ADMIN_EMAIL, "--password-stdin", "--insecure-storage",
           input=ADMIN_PASSWORD + "\n", env=env)  # fmt: skip
    path = tmp_path / "data" / "assetctl" / "tokens" / "default.jwt"
    assert path.stat().st_mode & 0o777 == 0o600
    status = cli.ok("auth", "status", "-o", "json", env=env).json()
    assert status["source"] == "file"
    cli.ok("auth", "logout", env=env)
    assert not path.exists()


# --- forged, stale and malformed tokens ------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _bad_tokens(secret: str, good: str) -> dict[str, str]:
    base = claims_of(good)
    header, payload, signature = good.split(".")
    tampered_payload = _b64(json.dumps({**base, "role": "admin", "sub": "1"}).encode())
    flipped = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    unsigned = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode()) + "." + payload + "."
    from cryptography.hazmat.primitives.asymmetric import rsa

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "tampered payload": f"{header}.{tampered_payload}.{signature}",
        "tampered signature": f"{header}.{payload}.{flipped}",
        "alg none": unsigned,
        "alg HS512": jwt.encode(base, secret, algorithm="HS512"),
        "alg RS256": jwt.encode(base, rsa_key, algorithm="RS256"),
        "other key": forge("x" * 48, base),
        "expired": forge(secret, base, exp=now() - 120, iat=now() - 600, nbf=now() - 600),
        "nbf in future": forge(secret, base, nbf=now() + 600),
        "iat in future": forge(secret, base, iat=now() + 600),
        "wrong iss": forge(secret, base, iss="someone-else"),
        "wrong aud": forge(secret, base, aud="another-app"),
        "missing exp": forge(secret, base, drop=("exp",)),
        "missing jti": forge(secret, base, drop=("jti",)),
        "unknown jti": forge(secret, base, jti="never-issued"),
        "truncated": good[: len(good) // 2],
        "not base64": "!!!.@@@.###",
        "one megabyte": "a" * 1_000_000,
    }


def test_forged_and_malformed_tokens_are_refused(cli: Cli, db_url: str) -> None:
    register(cli, "v@example.com", "viewer")
    good = token_for(cli, "v@example.com")
    secret = db_secret(db_url)
    assert as_user(cli, good).ok("asset", "list").exit_code == 0
    for name, token in _bad_tokens(secret, good).items():
        result = as_user(cli, token)(*add_args("LAP-X"))
        assert result.exit_code == 4, (name, result.stderr)
        assert NOT_VALID in result.stderr or "not logged in" in result.stderr, name
        assert "Traceback" not in result.stderr, name
    assert query(db_url, "SELECT id FROM assets") == []


def test_tokens_issued_before_valid_after_or_for_deleted_users(cli: Cli, db_url: str) -> None:
    register(cli, "v@example.com", "viewer")
    good = token_for(cli, "v@example.com")
    query(db_url, "UPDATE users SET tokens_valid_after = :t WHERE email = 'v@example.com'",
          t="2100-01-01 00:00:00+00:00")  # fmt: skip
    result = as_user(cli, good)("asset", "list")
    assert result.exit_code == 4
    assert "revoked" in result.stderr

    # A login while valid-after is still in the future yields a token that is refused too.
    assert _login(cli, "v@example.com", PASSWORD)[0] == 0
    file_env = {"ASSETCTL_TOKEN": "", "ASSETCTL_AUTH_STORAGE": "file"}
    assert cli("asset", "list", env=file_env).exit_code == 4
    query(db_url, "UPDATE users SET tokens_valid_after = :t WHERE email = 'v@example.com'",
          t="2000-01-01 00:00:00+00:00")  # fmt: skip
    fresh = token_for(cli, "v@example.com")
    as_user(cli, fresh).ok("asset", "list")
    query(
        db_url,
        "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE email = 'v@example.com')",
    )
    query(db_url, "DELETE FROM users WHERE email = 'v@example.com'")
    assert as_user(cli, fresh)("asset", "list").exit_code == 4


def test_revoked_session_row_is_refused_even_with_a_valid_signature(cli: Cli, db_url: str) -> None:
    register(cli, "v@example.com", "viewer")
    token = token_for(cli, "v@example.com")
    query(db_url, "UPDATE sessions SET revoked_at = expires_at WHERE jti = :jti",
          jti=claims_of(token)["jti"])  # fmt: skip
    assert as_user(cli, token)("asset", "list").exit_code == 4


def test_hash_made_with_older_parameters_is_upgraded_at_login(cli: Cli, db_url: str) -> None:
    from passlib.context import CryptContext

    register(cli, "v@example.com", "viewer")
    weak = CryptContext(schemes=["argon2"], argon2__type="ID", argon2__memory_cost=8192,
                        argon2__time_cost=1, argon2__parallelism=1)  # fmt: skip
    query(db_url, "UPDATE users SET password_hash = :h WHERE email = 'v@example.com'",
          h=weak.hash(PASSWORD))  # fmt: skip
    token_for(cli, "v@example.com")
    (row,) = query(db_url, "SELECT password_hash FROM users WHERE email = 'v@example.com'")
    # SQLite keeps passlib's hash; PostgreSQL a server-relief verifier (issue 14).
    assert row["password_hash"].startswith(
        ("$argon2id$v=19$m=19456,t=2,p=1$", "relief$19456$2$1$32$")
    )


def test_real_process_skips_the_crypto_backend_and_still_refuses_rs256(
    cli: Cli, db_url: str
) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    fresh = run_fresh(cli.env, "asset", "list", "-o", "json")
    assert (fresh.code, "cryptography" in fresh.modules) == (0, False)

    register(cli, "v@example.com", "viewer")
    claims = claims_of(token_for(cli, "v@example.com"))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, key, algorithm="RS256")
    refused = cli.sub("asset", "list", env={"ASSETCTL_TOKEN": forged})
    assert refused.exit_code == 4
    assert NOT_VALID in refused.stderr
