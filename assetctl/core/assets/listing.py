"""Asset listing: filters, whitelisted sorting and keyset pagination with opaque cursors.

A cursor carries the sort key and id of the last row of a page, the sort it was made for and a
fingerprint of the filters, plus a checksum. A cursor that was edited, truncated, or used with
other filters or another sort is refused (exit 2) instead of silently returning a wrong page.
Pages never use OFFSET, so page N costs the same as page 1.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from assetctl.core.assets.fields import PARSERS
from assetctl.core.assets.schema import BY_NAME, FILTERABLE, SEARCHABLE, SORTABLE, Kind, column
from assetctl.errors import InvalidInputError
from assetctl.json_values import unwire, wire

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Select
    from sqlalchemy.orm import Session

STREAM_BATCH = 1000
logger = logging.getLogger(__name__)
_CURSOR_VERSION = 1


@dataclass(frozen=True)
class Filters:
    """What a listing selects: exact values of filterable fields (as stored), a search text,
    and whether to list deleted assets instead of active ones."""

    exact: tuple[tuple[str, str], ...] = ()
    search: str | None = None
    deleted: bool = False

    def fingerprint(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True)
class Sort:
    key: str = "tag"
    descending: bool = False

    @classmethod
    def parse(cls, raw: str | None) -> Sort:
        """`name`, `name:asc` or `name:desc`; the key must be in the whitelist."""
        if raw is None or raw.strip() == "":
            return cls()
        key, _, direction = raw.strip().partition(":")
        key = key.strip().lower()
        if key not in SORTABLE:
            raise InvalidInputError(
                f"cannot sort by {key!r}", hint=f"sortable fields: {', '.join(SORTABLE)}"
            )
        direction = direction.strip().lower() or "asc"
        if direction not in ("asc", "desc"):
            raise InvalidInputError(
                f"sort direction {direction!r} is not valid",
                hint="use FIELD, FIELD:asc or FIELD:desc",
            )
        return cls(key, direction == "desc")

    def __str__(self) -> str:
        return f"{self.key}:desc" if self.descending else self.key


def make_filters(exact: Mapping[str, str | None], *, search: str | None, deleted: bool) -> Filters:
    """Normalise filter flags the way values are stored (a status must be a status,
    lower-cased fields are compared lower-cased); None means "not given"."""
    given = []
    for name in FILTERABLE:
        raw = exact.get(name)
        if raw is None:
            continue
        field = BY_NAME[name]
        if field.kind is Kind.ENUM:
            value = PARSERS[name](raw)
        else:
            value = raw.strip().lower() if field.lower else raw.strip()
        given.append((name, value))
    return Filters(
        exact=tuple(given),
        search=search.strip() or None if search is not None else None,
        deleted=deleted,
    )


def _checksum(body: bytes) -> str:
    return hashlib.sha256(b"assetctl-cursor:" + body).hexdigest()[:12]


def _key_from_json(key: str, value: Any) -> Any:
    if value is None:
        return None
    # The checksum is not a secret: anyone can edit a cursor and recompute it, so refuse
    # what no stored row can hold rather than let the database reject it as an internal
    # error.
    kind = BY_NAME[key].kind
    if kind in (Kind.ID, Kind.INT, Kind.MONEY):  # money sorts by its stored cents
        return _int64(value)
    if not isinstance(value, str) or "\x00" in value:
        raise TypeError("not a string")
    value.encode("utf-8")  # a lone surrogate ("\ud800") raises UnicodeEncodeError
    if kind is Kind.DATE:
        return unwire(kind, value)
    if kind is Kind.TIMESTAMP:
        # `wire` writes UTC; another offset (PostgreSQL refuses -23:59) was typed by hand.
        stamp = unwire(kind, value)
        if stamp.utcoffset() != timedelta(0):
            raise ValueError("not a UTC timestamp")
        return stamp
    return value


def _int64(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not -(2**63) <= value < 2**63:
        raise TypeError("not a 64-bit integer")
    return value


def encode_cursor(filters: Filters, sort: Sort, key_value: Any, row_id: int) -> str:
    payload = {
        "v": _CURSOR_VERSION,
        "s": str(sort),
        "f": filters.fingerprint(),
        "k": [wire(key_value), row_id],
    }
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
    return body.decode().rstrip("=") + "." + _checksum(body.rstrip(b"="))


def decode_cursor(token: str, filters: Filters, sort: Sort) -> tuple[Any, int]:
    """Return (last key value, last id) from a cursor made by `encode_cursor` for the same
    filters and sort, or raise InvalidInputError."""
    bad = InvalidInputError(
        "the --cursor value is not a cursor produced by `asset list` (or it was edited)",
        hint="pass the cursor exactly as the previous page printed it",
    )
    body, sep, check = token.strip().partition(".")
    if not sep or _checksum(body.encode()) != check:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        payload = json.loads(raw)
        key_json, row_id = payload["k"]
        version, sort_text, fingerprint = payload["v"], payload["s"], payload["f"]
        if version != _CURSOR_VERSION:
            raise bad
        row_id = _int64(row_id)
        key_value = _key_from_json(sort.key, key_json)
    except (binascii.Error, ValueError, KeyError, TypeError, RecursionError):
        # ValueError covers bad JSON, bad dates and UnicodeDecodeError/EncodeError;
        # RecursionError an array nested thousands deep.
        raise bad from None
    if sort_text != str(sort) or fingerprint != filters.fingerprint():
        raise InvalidInputError(
            "this cursor belongs to a listing with other filters or another sort order",
            hint="repeat the same filters and --sort as the command that printed the cursor",
        )
    return key_value, row_id


def _column(key: str) -> ColumnElement[Any]:
    from assetctl.db.tables import assets_table

    return assets_table.c[column(key)]


def filtered(stmt: Select[Any], filters: Filters, *, postgres: bool = False) -> Select[Any]:
    """`stmt` (a select from assets) restricted to the rows `filters` selects; `postgres`
    writes the search the way PostgreSQL's trigram index serves it."""
    return stmt.where(*_conditions(filters, postgres, _column("id").table.c))


def _conditions(filters: Filters, postgres: bool, columns: Any) -> list[ColumnElement[bool]]:
    """What `filters` asks of a row, over `columns` (the table's, or a subquery's)."""
    deleted = columns.deleted_at
    found = [deleted.is_not(None) if filters.deleted else deleted.is_(None)]
    found += [columns[column(key)] == value for key, value in filters.exact]
    if filters.search:
        found.append(_search_condition(filters.search, postgres, columns))
    return found


def _search_condition(term: str, postgres: bool, columns: Any) -> ColumnElement[bool]:
    """Case-insensitive substring of any searchable field, `%`, `_` and `\\` literal.

    On PostgreSQL the columns are matched as one joined text, the expression the trigram
    index is built on (db/search_index.py), so one index scan serves the whole OR; a term
    holding the separator could match across two columns and keeps the per-column form."""
    from sqlalchemy import literal_column, or_

    from assetctl.db import search_index

    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    if postgres and search_index.SEPARATOR not in term:
        # Unqualified column names: the same text over the table or a subquery of it.
        joined: ColumnElement[str] = literal_column(search_index.SEARCH_TEXT_SQL)
        return joined.ilike(pattern, escape="\\")
    return or_(*(columns[column(key)].ilike(pattern, escape="\\") for key in SEARCHABLE))


def _after(key: str, descending: bool, value: Any, row_id: int) -> ColumnElement[bool]:
    """Rows strictly after (value, row_id) in the order ORDER BY key [DESC], id [DESC] among
    rows whose key is not NULL (a NULL `value` means the NULL tail, ordered by id alone).
    A plain row comparison, so the (key, id) index seeks to it."""
    from sqlalchemy import and_, tuple_

    col, ids = _column(key), _column("id")
    id_after = ids < row_id if descending else ids > row_id
    if key == "id":
        return id_after
    if value is None:
        return and_(col.is_(None), id_after)
    pair, bound = tuple_(col, ids), tuple_(value, row_id)
    return pair < bound if descending else pair > bound


def ordered(stmt: Select[Any], sort: Sort) -> Select[Any]:
    """`stmt` ordered by `sort`, NULLs last, then by id: the order keyset pages follow."""
    col, ids = _column(sort.key), _column("id")
    if sort.key == "id":
        return stmt.order_by(ids.desc() if sort.descending else ids.asc())
    order = col.desc() if sort.descending else col.asc()
    if SORTABLE[sort.key]:
        order = order.nulls_last()
    return stmt.order_by(order, ids.desc() if sort.descending else ids.asc())


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    next_cursor: str | None


def _select_page(
    session: Session, filters: Filters, sort: Sort, limit: int, after: tuple[Any, int] | None
) -> list[dict[str, Any]]:
    """Up to `limit` rows after `after`. A nullable key is read in two parts, its values and
    then its NULL tail: `ORDER BY key DESC NULLS LAST` matches no B-tree index and `(key,
    id) > cursor OR key IS NULL` no index condition, so a single query sorted or scanned the
    whole table at a million assets; each part is an index range (benchmarks/README.md)."""
    part = _Part(session, filters, sort)
    if not SORTABLE[sort.key]:
        where = [] if after is None else [_after(sort.key, sort.descending, *after)]
        return part.read(where, ("id",) if sort.key == "id" else (sort.key, "id"), limit)
    col = _column(sort.key)
    rows: list[dict[str, Any]] = []
    if after is None or after[0] is not None:
        where = [col.is_not(None)]
        if after is not None:
            where.append(_after(sort.key, sort.descending, *after))
        rows = part.read(where, (sort.key, "id"), limit)
        if len(rows) == limit:
            return rows
        after = None
    where = [col.is_(None)]
    if after is not None:
        where.append(_after(sort.key, sort.descending, *after))
    return rows + part.read(where, ("id",), limit - len(rows))


# How many rows, in the page's order, a filtered page looks at before it reads the page
# another way (see _Part).
WALK = 10_000


class _Part:
    """Reads one part of a page: the rows matching `filters` and `where`, ordered by `keys`
    (each ascending, or descending with the sort) and limited.

    A filtered page read along the sort key's index stops at the `limit`th match: quick,
    unless the matches sit far along that order (`--category phone` when every phone's tag
    sorts after every laptop's; `--status lost --sort name` when no "Desk dock" is lost),
    and then it reads most of the table, about a second at a million assets; PostgreSQL
    keeps no statistics that could warn it. So on PostgreSQL a filtered page first filters
    just the WALK next rows in that order. Only when they hold fewer than a page of matches
    does it read the page from indexes alone (`_intersected`) when the sort and the filters
    have them, or else let the filter pick its rows first (its index, or one scan) and sort
    only their ids and keys: about one pass over the table at worst."""

    def __init__(self, session: Session, filters: Filters, sort: Sort) -> None:
        from assetctl.db.tables import assets_table

        self.session, self.filters, self.sort = session, filters, sort
        self.table = assets_table
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self.narrowed = self.postgres and (
            bool(filters.search) or any(key != sort.key for key, _ in filters.exact)
        )

    def _order(self, columns: Any, keys: tuple[str, ...]) -> list[ColumnElement[Any]]:
        # No NULLS LAST: an index scanned backwards gives DESC NULLS FIRST, and the planner
        # does not drop the clause for a column the query keeps non-NULL (_select_page reads
        # a nullable key's values and its NULL tail apart).
        chosen = [columns[column(key)] for key in keys]
        return [c.desc() if self.sort.descending else c.asc() for c in chosen]

    def read(
        self, where: list[ColumnElement[bool]], keys: tuple[str, ...], limit: int
    ) -> list[dict[str, Any]]:
        from sqlalchemy import select

        c, filters, postgres = self.table.c, self.filters, self.postgres
        matching = select(self.table).where(*_conditions(filters, postgres, c), *where)
        order = self._order(c, keys)
        if not self.narrowed:
            return self._rows(matching.order_by(*order).limit(limit))
        # A subquery with its own LIMIT is planned on its own: the walk cannot turn into a
        # scan of every row the filter matches.
        everything = Filters(deleted=filters.deleted)
        walked = (
            select(self.table)
            .where(*_conditions(everything, postgres, c), *where)
            .order_by(*order)
            .limit(WALK)
            .subquery("walked")
        )
        first = select(walked).where(*_conditions(filters, postgres, walked.c))
        rows = self._rows(first.order_by(*self._order(walked.c, keys)).limit(limit))
        if len(rows) == limit:
            return rows
        if self._indexed(keys):
            return self._rows(self._intersected(where, keys, limit))
        # MATERIALIZED: the filter runs on its own; only the ids and sort keys of its rows
        # are sorted, and just the page's rows are read in full.
        keyed = matching.with_only_columns(*(c[column(key)] for key in {*keys, "id"}))
        picked = keyed.cte("picked").prefix_with("MATERIALIZED")
        page = select(picked.c.id).order_by(*self._order(picked.c, keys)).limit(limit)
        return self._rows(select(self.table).where(c.id.in_(page)).order_by(*order))

    def _indexed(self, keys: tuple[str, ...]) -> bool:
        """Whether the sort and every filter have a (key, id) index (not search)."""
        from assetctl.db.tables import sort_index_keys

        # The primary key is (id) itself.
        own = {"id", *(field.name for field in sort_index_keys())}
        exact = self.filters.exact
        return not self.filters.search and own.issuperset(keys) and all(k in own for k, _ in exact)

    def _intersected(
        self, where: list[ColumnElement[bool]], keys: tuple[str, ...], limit: int
    ) -> Select[Any]:
        """The page read from two indexes and no other heap page than its own rows: the ids
        the filters match (index-only, hashed once) and the sort key's index walked
        index-only in order until a page of them is found; `IS TRUE` keeps the membership
        a hashed filter of that walk instead of a join that would lose its order. At a
        million assets, `--status lost --sort name` walks 375,000 index entries in ~90 ms
        where reading the 100,000 lost assets from the table took 160-300 ms."""
        from sqlalchemy import select

        c, f = self.table.c, self.table.alias("f").c
        matched = select(f.id).where(
            *(f[column(key)] == value for key, value in self.filters.exact)
        )
        walk = (
            select(c.id, *(c[column(key)] for key in keys if key != "id"))
            .where(*where, c.id.in_(matched).is_(True))
            .order_by(*self._order(c, keys))
            .subquery("walk")
        )
        row = self.table.alias("a")
        alive = _conditions(Filters(deleted=self.filters.deleted), self.postgres, row.c)
        return (
            select(row)
            .join(walk, row.c.id == walk.c.id)
            .where(*alive)
            .order_by(*self._order(walk.c, keys))
            .limit(limit)
        )

    def _rows(self, stmt: Select[Any]) -> list[dict[str, Any]]:
        return [dict(row) for row in self.session.execute(stmt).mappings()]


def _warn_unindexed(session: Session, filters: Filters) -> None:
    """Say once per listing when PostgreSQL has no trigram index to serve the search."""
    if not filters.search or session.get_bind().dialect.name != "postgresql":
        return
    from assetctl.db import search_index

    if not search_index.present(session.connection()):
        logger.warning(
            "--search is not indexed on this database (no pg_trgm trigram index), so every "
            "asset is scanned; run `assetctl doctor` to see how to fix it"
        )


def _sort_value(row: dict[str, Any], key: str) -> Any:
    return row[column(key)]


def fetch_page(
    session: Session, filters: Filters, sort: Sort, limit: int, cursor: str | None
) -> Page:
    """One page of at most `limit` rows after `cursor`, and the cursor of the next page."""
    after = decode_cursor(cursor, filters, sort) if cursor else None
    _warn_unindexed(session, filters)
    rows = _select_page(session, filters, sort, limit + 1, after)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(filters, sort, _sort_value(last, sort.key), last["id"])
    return Page(rows, next_cursor)


def stream_rows(
    session: Session, filters: Filters, sort: Sort, cursor: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every matching row, fetched in keyset batches so memory stays bounded."""
    after = decode_cursor(cursor, filters, sort) if cursor else None
    _warn_unindexed(session, filters)
    while True:
        rows = _select_page(session, filters, sort, STREAM_BATCH, after)
        yield from rows
        if len(rows) < STREAM_BATCH:
            return
        last = rows[-1]
        after = (_sort_value(last, sort.key), last["id"])
