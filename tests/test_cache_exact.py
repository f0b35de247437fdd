"""Issue 19 part 1 and issue 14 item 3: the cache is exact whoever writes (the generation
lives in PostgreSQL and is bumped in the writing transaction), a hit asks the database about
the session every time, whoever can write to Redis cannot plant what a reader accepts, a
read-only Redis ACL user still gets hits, and a damaged counter heals.

Readers and writers are separate processes of the installed entry point where it matters;
plain-SQL writers are psycopg2 connections as the owner or as a client role's own login."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from assetctl.db.schema_version import HEAD_REVISION

from .cache_helpers import data_generation
from .conftest import Cli, _service_missing, add_args
from .role_fixtures import Member, Team, connect_as, refused, rows, team

__all__ = ["team"]  # the fixture, imported for pytest

pytestmark = pytest.mark.postgres

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def redis_client() -> Any:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        _service_missing("Redis", f"{REDIS_URL}: {exc}")
    return client


def _cached(cli: Cli, redis_url: str = REDIS_URL) -> Cli:
    return Cli({**cli.env, "ASSETCTL_REDIS_URL": redis_url})


def _reader(team: Team, role: str = "viewer") -> Cli:
    return _cached(team.cli_for(team.members[role]))


def _admin(team: Team) -> Cli:
    return _cached(team.admin)


def _hits(team: Team) -> int:
    return int(_admin(team).ok("cache", "stats", "-o", "json").json()["hits"])


def _show(cli: Cli, tag: str) -> dict[str, Any]:
    result = cli.sub("asset", "show", tag, "-o", "json")
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


def _warm(team: Team, reader: Cli, tag: str) -> dict[str, Any]:
    """Cache `asset show TAG` for `reader` and prove the next read is a hit."""
    first = _show(reader, tag)
    hits = _hits(team)
    assert _show(reader, tag) == first
    assert _hits(team) == hits + 1
    return first


def _namespace(team: Team) -> str:
    (value,) = team.sql_admin("SELECT assetctl_cache_namespace()")[0]
    return str(value)


def _page_keys(redis_client: Any, team: Team, kind: str = "show") -> list[bytes]:
    pattern = f"assetctl:{_namespace(team)}:{HEAD_REVISION}:*:{kind}:*"
    return list(redis_client.scan_iter(match=pattern))


# --- every writer bumps the generation -----------------------------------------------------


def test_writer_without_redis_is_seen_by_the_next_cached_read(team: Team) -> None:
    team.admin.ok(*add_args("NR-1", location="before"))
    reader = _reader(team)
    assert _warm(team, reader, "NR-1")["location"] == "before"
    operator = team.cli_for(team.members["operator"])  # no ASSETCTL_REDIS_URL at all
    assert "ASSETCTL_REDIS_URL" not in operator.env
    changed = operator.sub("asset", "update", "NR-1", "--location", "changed")
    assert changed.exit_code == 0, changed.stderr
    assert _show(reader, "NR-1")["location"] == "changed"


def test_a_writer_whose_redis_is_down_is_seen_too(team: Team) -> None:
    team.admin.ok(*add_args("RD-1", location="before"))
    reader = _reader(team)
    _warm(team, reader, "RD-1")
    down = _cached(team.cli_for(team.members["operator"]), "redis://127.0.0.1:1/0")
    assert down.sub("asset", "update", "RD-1", "--location", "moved").exit_code == 0
    assert _show(reader, "RD-1")["location"] == "moved"


@pytest.mark.parametrize("writer", ["owner", "operator"])
def test_plain_sql_write_invalidates(team: Team, writer: str) -> None:
    tag = f"SQL-{writer}"
    team.admin.ok(*add_args(tag, location="before"))
    reader = _reader(team)
    _warm(team, reader, tag)
    before = data_generation(team.url)
    sql = "UPDATE assets SET location = 'by hand' WHERE tag = %s"
    if writer == "owner":
        team.sql_admin(sql, (tag,))
    else:
        with connect_as(team.database, team.members["operator"].login) as conn:
            conn.cursor().execute(sql, (tag,))
            conn.commit()
    assert data_generation(team.url) == before + 1
    assert _show(reader, tag)["location"] == "by hand"


def test_one_bump_per_transaction_and_none_for_a_rollback(team: Team) -> None:
    team.admin.ok(*add_args("TX-1"))
    team.admin.ok(*add_args("TX-2"))
    before = data_generation(team.url)
    with connect_as(team.database, team.members["operator"].login) as conn:
        cursor = conn.cursor()
        cursor.execute("UPDATE assets SET location = 'a' WHERE tag = 'TX-1'")
        cursor.execute("UPDATE assets SET location = 'b' WHERE tag = 'TX-2'")
        conn.rollback()
        assert data_generation(team.url) == before  # a rolled-back write bumps nothing
        cursor.execute("UPDATE assets SET location = 'a' WHERE tag = 'TX-1'")
        cursor.execute("UPDATE assets SET location = 'b' WHERE tag = 'TX-2'")
        assert data_generation(team.url) == before  # not before the commit
        conn.commit()
    assert data_generation(team.url) == before + 1
    # A statement that changes no row makes nothing stale.
    with connect_as(team.database, team.members["operator"].login) as conn:
        conn.cursor().execute("UPDATE assets SET location = 'x' WHERE tag = 'NO-SUCH-TAG'")
        conn.commit()
    assert data_generation(team.url) == before + 1


def test_no_client_login_can_touch_the_generation(team: Team) -> None:
    for member in team.members.values():
        with connect_as(team.database, member.login) as conn:
            for sql in (
                "SELECT value FROM cache_generations",
                "UPDATE cache_generations SET value = 1",
                "INSERT INTO cache_generations VALUES ('x', 1)",
                "DELETE FROM cache_generations",
                "INSERT INTO cache_pending VALUES (txid_current())",
                "SELECT assetctl_cache_bump()",
            ):
                assert refused(conn, sql), (member.role, sql)


# --- the session is asked every time ---------------------------------------------------------


def _member_cli(team: Team, member: Member, token: str) -> Cli:
    cli = _cached(team.cli_for(member))
    return Cli({**cli.env, "ASSETCTL_TOKEN": token})


def _fresh_token(team: Team, role: str) -> str:
    from .auth_helpers import PASSWORD, token_for
    from .conftest import NO_IP_LOOKUP, base_env
    from .role_fixtures import login_url

    member = team.members[role]
    env = base_env(
        team.tmp / f"fresh-{secrets.token_hex(3)}", login_url(team.database, member.login)
    )
    return token_for(Cli({**env, **NO_IP_LOOKUP}), member.email, PASSWORD)


def test_logout_is_seen_by_the_next_cached_read_from_another_process(team: Team) -> None:
    team.admin.ok(*add_args("LO-1"))
    member = team.members["viewer"]
    reader = _member_cli(team, member, _fresh_token(team, "viewer"))
    _warm(team, reader, "LO-1")
    assert reader.sub("auth", "logout").exit_code == 0
    hits = _hits(team)
    refused_read = reader.sub("asset", "show", "LO-1", "-o", "json")
    assert refused_read.exit_code == 4, refused_read.stderr
    assert "logout" in refused_read.stderr
    assert refused_read.stdout == ""
    assert _hits(team) == hits


def test_disable_is_seen_by_the_next_cached_read_from_another_process(team: Team) -> None:
    from .conftest import NO_IP_LOOKUP, base_env
    from .role_fixtures import add_member

    member = add_member(team, "viewer", f"dis-{secrets.token_hex(2)}@example.com")
    team.admin.ok(*add_args("DI-1"))
    reader = _member_cli(team, member, member.token)
    _warm(team, reader, "DI-1")
    admin = Cli({**base_env(team.tmp / "dis-admin", team.url), **NO_IP_LOOKUP,
                 "ASSETCTL_TOKEN": team.admin.env["ASSETCTL_TOKEN"]})  # fmt: skip
    assert admin.sub("user", "disable", member.email).exit_code == 0  # no Redis either
    hits = _hits(team)
    result = reader.sub("asset", "show", "DI-1", "-o", "json")
    # Exactly what the database says without the cache: disabling also took the login's
    # group role away, so PostgreSQL refuses the read itself (exit 5).
    uncached = reader.sub("asset", "show", "DI-1", "-o", "json", "--no-cache")
    assert (result.exit_code, result.stderr) == (uncached.exit_code, uncached.stderr)
    assert result.exit_code in (4, 5), result.stderr
    assert result.stdout == ""
    assert _hits(team) == hits


def test_expired_session_never_gets_a_hit(team: Team) -> None:
    team.admin.ok(*add_args("EX-1"))
    token = _fresh_token(team, "viewer")
    reader = _member_cli(team, team.members["viewer"], token)
    _warm(team, reader, "EX-1")
    from .auth_helpers import claims_of

    jti = claims_of(token)["jti"]
    team.sql_admin("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE jti = %s",
                   (jti,))  # fmt: skip
    hits = _hits(team)
    result = reader.sub("asset", "show", "EX-1", "-o", "json")
    assert result.exit_code == 4, result.stderr
    assert "expired" in result.stderr
    assert _hits(team) == hits


def test_token_over_another_login_never_gets_a_hit(team: Team) -> None:
    team.admin.ok(*add_args("OL-1"))
    token = _fresh_token(team, "viewer")
    _warm(team, _member_cli(team, team.members["viewer"], token), "OL-1")
    # The viewer's token over the operator's login: the page is cached, the token is not
    # good here.
    other = _member_cli(team, team.members["operator"], token)
    hits = _hits(team)
    result = other.sub("asset", "show", "OL-1", "-o", "json")
    assert result.exit_code == 4, result.stderr
    assert "another database login" in result.stderr
    assert _hits(team) == hits


def test_garbage_token_never_gets_a_hit(team: Team) -> None:
    team.admin.ok(*add_args("GT-1"))
    _warm(team, _reader(team), "GT-1")
    forged = _member_cli(team, team.members["viewer"], "eyJhbGciOiJub25lIn0.e30.")
    hits = _hits(team)
    assert forged.sub("asset", "show", "GT-1").exit_code == 4
    assert _hits(team) == hits


# --- Redis holds copies, never answers ---------------------------------------------------------


def test_planted_principal_entry_is_never_served(team: Team, redis_client: Any) -> None:
    """What the earlier releases cached (a session check keyed by the token) answers
    nothing now: a revoked token stays refused however Redis is filled."""
    import hashlib

    team.admin.ok(*add_args("PP-1"))
    token = _fresh_token(team, "viewer")
    reader = _member_cli(team, team.members["viewer"], token)
    _warm(team, reader, "PP-1")
    assert reader.sub("auth", "logout").exit_code == 0
    digest = hashlib.sha256(b"assetctl-token:" + f"{token}\n{team.members['viewer'].login}"
                            .encode()).hexdigest()  # fmt: skip
    principal = {"user_id": team.members["viewer"].user_id, "email": "x", "name": "x",
                 "role": "admin", "jti": "x", "expires_at": "2999-01-01T00:00:00Z"}  # fmt: skip
    for key in (f"assetctl:{_namespace(team)}:auth:{digest}",
                f"assetctl:{_namespace(team)}:auth:{hashlib.sha256(b'assetctl-token:' + token.encode()).hexdigest()}"):  # fmt: skip  # noqa: E501
        redis_client.set(key, json.dumps({"auth_gen": 0, "principal": principal}), ex=60)
    result = reader.sub("asset", "show", "PP-1", "-o", "json")
    assert result.exit_code == 4, result.stderr
    assert result.stdout == ""


def test_planted_page_is_never_served(team: Team, redis_client: Any) -> None:
    team.admin.ok(*add_args("PG-1", name="Real name"))
    reader = _reader(team)
    _warm(team, reader, "PG-1")
    keys = [k for k in _page_keys(redis_client, team) if redis_client.get(k) and
            b"PG-1" in redis_client.get(k)]  # fmt: skip
    assert len(keys) == 1
    (key,) = keys
    genuine = json.loads(redis_client.get(key))
    # Someone with Redis write access rewrites the page but cannot sign it.
    body = json.loads(genuine["body"])
    body["name"] = "Planted"
    planted = {**genuine, "body": json.dumps(body)}
    redis_client.set(key, json.dumps(planted), ex=60)
    result = reader.sub("-v", "asset", "show", "PG-1", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "Real name"
    assert "could not be read or verified" in result.stderr
    assert key.decode() in result.stderr  # -v names the key
    # ... nor replay a page genuinely signed for another key (an older generation).
    old = json.loads(redis_client.get(key))
    team.admin.ok("asset", "update", "PG-1", "--name", "Renamed")
    assert _show(reader, "PG-1")["name"] == "Renamed"
    new_keys = [k for k in _page_keys(redis_client, team) if k != key and
                b"Renamed" in (redis_client.get(k) or b"")]  # fmt: skip
    assert len(new_keys) == 1
    redis_client.set(new_keys[0], json.dumps(old), ex=60)
    assert _show(reader, "PG-1")["name"] == "Renamed"


# --- Redis ACL users and damaged keys ----------------------------------------------------------


@pytest.fixture
def read_only_redis_user(redis_client: Any) -> Iterator[str]:
    """A Redis ACL user that may only GET/MGET assetctl's keys (random name, deleted after)."""
    name = f"assetctl-test-{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(16)
    redis_client.execute_command("ACL", "SETUSER", name, "on", f">{password}", "~assetctl:*",
                                 "resetchannels", "-@all", "+get", "+mget")  # fmt: skip
    try:
        yield f"redis://{name}:{password}@127.0.0.1:6379/0"
    finally:
        redis_client.execute_command("ACL", "DELUSER", name)


def test_read_only_acl_user_gets_hits_quietly(team: Team, read_only_redis_user: str) -> None:
    team.admin.ok(*add_args("ACL-1", name="Before"))
    writer_side = _reader(team)
    _warm(team, writer_side, "ACL-1")  # stored by a reader that may write Redis
    viewer = _cached(team.cli_for(team.members["viewer"]), read_only_redis_user)
    hit = viewer.sub("asset", "show", "ACL-1", "-o", "json")
    assert (hit.exit_code, hit.stderr) == (0, "")
    assert json.loads(hit.stdout)["name"] == "Before"
    # It may not count its hit (INCR): noted under -v only.
    verbose = viewer.sub("-v", "asset", "show", "ACL-1", "-o", "json")
    assert verbose.exit_code == 0
    assert "may not count hits" in verbose.stderr
    assert "warning" not in verbose.stderr
    # A miss (after a write) is answered from the database; it may not store the page.
    team.admin.ok("asset", "update", "ACL-1", "--name", "After")
    miss = viewer.sub("asset", "show", "ACL-1", "-o", "json")
    assert (miss.exit_code, miss.stderr) == (0, "")
    assert json.loads(miss.stdout)["name"] == "After"
    listing = viewer.sub("asset", "list", "-o", "json")
    assert (listing.exit_code, listing.stderr) == (0, "")


def test_damaged_counter_heals(team: Team, redis_client: Any) -> None:
    team.admin.ok(*add_args("HL-1"))
    reader = _reader(team)
    _warm(team, reader, "HL-1")
    key = f"assetctl:{_namespace(team)}:stats:hits"
    redis_client.set(key, "not a number")
    healed = reader.sub("-v", "asset", "show", "HL-1", "-o", "json")
    assert healed.exit_code == 0
    assert key in healed.stderr
    assert "warning" not in healed.stderr
    assert int(redis_client.get(key)) == 1  # overwritten, this hit counted
    again = reader.sub("asset", "show", "HL-1", "-o", "json")
    assert (again.exit_code, again.stderr) == (0, "")
    assert int(redis_client.get(key)) == 2  # the cache carries on
    # A count at the end of its range heals too.
    redis_client.set(key, str(2**63 - 1))
    assert reader.sub("asset", "show", "HL-1").exit_code == 0
    assert int(redis_client.get(key)) == 1
    # A counter of another type (a list) heals the same way, in `cache stats` too.
    redis_client.delete(key)
    redis_client.rpush(key, "x")
    stats = _admin(team).ok("-v", "cache", "stats", "-o", "json")
    assert stats.json()["hits"] == 0
    assert reader.sub("asset", "show", "HL-1").exit_code == 0
    assert int(redis_client.get(key)) == 1


def test_damaged_page_of_another_type_heals(team: Team, redis_client: Any) -> None:
    team.admin.ok(*add_args("WT-1", name="Real"))
    reader = _reader(team)
    _warm(team, reader, "WT-1")
    keys = [k for k in _page_keys(redis_client, team) if b"WT-1" in (redis_client.get(k) or b"")]
    (key,) = keys
    redis_client.delete(key)
    redis_client.rpush(key, "x")
    result = reader.sub("asset", "show", "WT-1", "-o", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["name"] == "Real"
    assert redis_client.type(key) == b"string"  # replaced by the fresh answer
    assert _show(reader, "WT-1")["name"] == "Real"


def test_probe_is_the_only_way_to_the_mac_key(team: Team) -> None:
    """Each client login gets the key only with a token the database accepts for it."""
    viewer = team.members["viewer"]
    with connect_as(team.database, viewer.login) as conn:
        (row,) = rows(conn, "SELECT * FROM assetctl_cache_probe(%s)", (viewer.token,))
        assert row[0] is None and row[5] and len(row[5]) == 64
        (bad,) = rows(conn, "SELECT * FROM assetctl_cache_probe(%s)", ("x.y.z",))
        assert bad[0] is not None and bad[5] is None
    with connect_as(team.database, team.members["operator"].login) as conn:
        (other,) = rows(conn, "SELECT * FROM assetctl_cache_probe(%s)", (viewer.token,))
        assert other[0] is not None and other[5] is None


def test_doctor_accepts_a_read_only_acl_user(team: Team, read_only_redis_user: str) -> None:
    viewer = _cached(team.cli_for(team.members["viewer"]), read_only_redis_user)
    result = viewer.sub("doctor")
    (line,) = [line for line in result.stdout.splitlines() if line.split()[1:2] == ["redis"]]
    assert line.split()[0] == "ok", result.stdout
    assert "restricted ACL user" in line


def test_concurrent_writers_lose_no_bump(team: Team) -> None:
    """Eight transactions committing at once, each changing two assets: each bumps once
    (the counter is locked only at commit, so none waits for another's whole transaction)."""
    import threading

    tags = [f"CW-{n}" for n in range(16)]
    for tag in tags:
        team.admin.ok(*add_args(tag))
    before = data_generation(team.url)
    ready = threading.Barrier(8)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with connect_as(team.database, team.members["operator"].login) as conn:
                cursor = conn.cursor()
                cursor.execute("UPDATE assets SET location = %s WHERE tag = %s", (str(n), tags[n]))
                ready.wait(30)  # every transaction holds its first row, then all go on
                cursor.execute(
                    "UPDATE assets SET location = %s WHERE tag = %s", (str(n), tags[n + 8])
                )
                conn.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert data_generation(team.url) == before + 8


def test_cache_stats_with_a_read_only_acl_user_names_the_refusal(
    team: Team, read_only_redis_user: str
) -> None:
    viewer = _cached(team.cli_for(team.members["viewer"]), read_only_redis_user)
    result = viewer.sub("cache", "stats")
    assert result.exit_code == 7
    assert "may not do this" in result.stderr
    password = read_only_redis_user.split("@", 1)[0].rsplit(":", 1)[-1]
    assert password not in result.stderr


def test_login_stripped_of_its_group_role_never_gets_a_hit(team: Team) -> None:
    """A DBA revokes the login's group role by hand: the token is still valid, but the
    database would refuse the read, so the cache must not answer it either."""
    from assetctl.db.roles import RoleNames

    from .conftest import ROLE_PREFIX
    from .role_fixtures import add_member

    member = add_member(team, "viewer", f"strip-{secrets.token_hex(2)}@example.com")
    team.admin.ok(*add_args("SR-1"))
    reader = _member_cli(team, member, member.token)
    _warm(team, reader, "SR-1")
    group = RoleNames(ROLE_PREFIX).group("viewer")
    team.sql_admin(f'REVOKE "{group}" FROM "{member.login}"')
    hits = _hits(team)
    result = reader.sub("asset", "show", "SR-1", "-o", "json")
    uncached = reader.sub("asset", "show", "SR-1", "-o", "json", "--no-cache")
    assert result.exit_code == uncached.exit_code == 5, result.stderr
    assert result.stdout == ""
    assert _hits(team) == hits
