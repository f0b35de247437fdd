"""The asset field catalogue: every asset field, declared once.

Everything else that knows about asset fields derives from `FIELDS`: the SQLAlchemy model
(`db/models.py`), the value parsers (`fields.py`), listing's sort/search/filter whitelists
(`listing.py`), export columns and import staging (`core/bulk`), the cache codec
(`json_values.py`) and the `asset add`/`asset update` options (`cli/asset.py`).

Adding a plain text field is one `Field(...)` line here (appended, so positional readers of
CSV/TSV output keep working), one Alembic migration adding the column (and its `(field, id)`
index when sortable), and tests. The README's Development section has the recipe.

Pure data: no SQLAlchemy, no I/O. It is imported on the cache-hit path.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """How a field's values are parsed, stored, encoded and shown."""

    ID = "id"  # 64-bit integer key
    INT = "int"
    TEXT = "text"
    ENUM = "enum"  # text from a closed list (the statuses)
    DATE = "date"
    MONEY = "money"  # Decimal with two places in records, integer cents in the database
    JSON = "json"  # a JSON object
    TIMESTAMP = "timestamp"  # timezone-aware UTC datetime


class Input(StrEnum):
    """Where a value of the field may come from."""

    SYSTEM = "system"  # managed by assetctl (ids, versions, audit columns)
    ADD = "add"  # `asset add` and import; not `asset update` (assign/unassign own it)
    EDIT = "edit"  # `asset add`, `asset update` and import
    IMPORT = "import"  # import only (descriptions are written by `describe --save`)


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    help: str = ""
    input: Input = Input.EDIT
    max_len: int | None = None  # TEXT: longest accepted value, in characters
    long: bool = False  # TEXT: stored as unbounded TEXT rather than VARCHAR(max_len)
    multiline: bool = False  # TEXT: newlines and tabs are allowed
    lower: bool = False  # stored lower-cased (compared case-insensitively)
    required: bool = False  # a new asset must have it
    nullable: bool = True
    clearable: bool = False  # `update --FIELD ""` sets it to null
    sortable: bool = False  # `--sort FIELD`; has a (column, id) index
    searchable: bool = False  # matched by `list --search` (case-insensitive substring)
    filterable: bool = False  # `list --FIELD VALUE` exact filter
    repeats: bool = False  # values repeat across an inventory: import memoises their parse
    snipeit: tuple[str, ...] = ()  # Snipe-IT export/import headers (normalised) for this field
    stored_as: str | None = None  # the column name when it differs from the field name
    listed: int = 0  # its place among the columns `asset list` shows by default (0: not shown)

    @property
    def column(self) -> str:
        return self.stored_as or self.name

    @property
    def settable(self) -> bool:
        return self.input is not Input.SYSTEM


def _system(
    name: str, kind: Kind, *, nullable: bool = False, sortable: bool = False, max_len: int = 0
) -> Field:
    """A column assetctl manages itself: shown and exported, never set by users or files."""
    return Field(
        name, kind, input=Input.SYSTEM, nullable=nullable, sortable=sortable,
        max_len=max_len or None,
    )  # fmt: skip


# The stable JSON order of an asset. New fields go at the end.
FIELDS: tuple[Field, ...] = (
    _system("id", Kind.ID, sortable=True),
    Field(
        "tag", Kind.TEXT, "Unique asset tag, e.g. LAP-0042 (max 64).", max_len=64,
        required=True, nullable=False, sortable=True, searchable=True, snipeit=("asset_tag",),
        listed=1,
    ),
    Field(
        "name", Kind.TEXT, "Display name.", max_len=200, required=True, nullable=False,
        sortable=True, searchable=True, snipeit=("name", "asset_name", "item_name"), listed=2,
    ),
    Field(
        "category", Kind.TEXT, "Category, e.g. laptop, monitor, phone.", max_len=64,
        lower=True, required=True, nullable=False, sortable=True, filterable=True,
        repeats=True, snipeit=("category",), listed=3,
    ),
    Field(
        "status", Kind.ENUM, "in_stock, assigned, in_repair, retired or lost.",
        nullable=False, sortable=True, filterable=True, repeats=True,
        snipeit=("status", "status_label"), listed=4,
    ),
    Field(
        "serial", Kind.TEXT, "Serial number (unique among active assets).", max_len=128,
        clearable=True, sortable=True, searchable=True, snipeit=("serial", "serial_number"),
        listed=7,
    ),
    Field(
        "manufacturer", Kind.TEXT, "Manufacturer, e.g. Lenovo.", max_len=200, clearable=True,
        sortable=True, repeats=True, snipeit=("manufacturer",),
    ),
    Field(
        "model", Kind.TEXT, "Model, e.g. ThinkPad T14.", max_len=200, clearable=True,
        sortable=True, searchable=True, repeats=True, snipeit=("model", "model_name"),
    ),
    Field(
        "location", Kind.TEXT, "Where the asset is.", max_len=200, clearable=True,
        sortable=True, filterable=True, repeats=True, snipeit=("location",), listed=6,
    ),
    Field(
        "assignee", Kind.TEXT, "Person the asset is assigned to.", input=Input.ADD,
        max_len=200, sortable=True, searchable=True, filterable=True, repeats=True,
        snipeit=("checked_out_to_email",), listed=5,
    ),
    Field(
        "purchase_date", Kind.DATE, "Purchase date, YYYY-MM-DD.", clearable=True,
        sortable=True, repeats=True, snipeit=("purchase_date",),
    ),
    Field(
        "purchase_cost", Kind.MONEY, "Purchase cost, e.g. 1299.50.", clearable=True,
        sortable=True, repeats=True, snipeit=("purchase_cost",),
        stored_as="purchase_cost_cents",
    ),
    Field(
        "warranty_until", Kind.DATE, "End of warranty, YYYY-MM-DD.", clearable=True,
        sortable=True, repeats=True, snipeit=("warranty_expires",),
    ),
    Field(
        "description", Kind.TEXT, input=Input.IMPORT, max_len=100_000, long=True,
        multiline=True,
    ),
    Field("description_source", Kind.JSON, input=Input.IMPORT),
    Field(
        "notes", Kind.TEXT, "Free-form notes.", max_len=10_000, long=True, multiline=True,
        clearable=True, snipeit=("notes",),
    ),
    _system("version", Kind.INT),
    _system("created_at", Kind.TIMESTAMP, sortable=True),
    _system("updated_at", Kind.TIMESTAMP, sortable=True),
    _system("created_by", Kind.TEXT, max_len=320),
    _system("updated_by", Kind.TEXT, max_len=320),
    _system("deleted_at", Kind.TIMESTAMP, nullable=True),
    Field(
        "hostname", Kind.TEXT, "Host name of the machine, e.g. lap-0042.corp.example.",
        max_len=255, clearable=True, sortable=True, searchable=True,
    ),
)  # fmt: skip

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
ASSET_FIELDS: tuple[str, ...] = tuple(BY_NAME)
# Fields a user or a file may set, in JSON order.
INPUT_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.settable)
ADD_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.input in (Input.ADD, Input.EDIT))
UPDATE_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.input is Input.EDIT)
REQUIRED: tuple[str, ...] = tuple(f.name for f in FIELDS if f.required)
CLEARABLE: frozenset[str] = frozenset(f.name for f in FIELDS if f.clearable)
# Sort key -> whether its column can hold NULL (NULLs sort last).
SORTABLE: dict[str, bool] = {f.name: f.nullable for f in FIELDS if f.sortable}
# The columns of `asset list`'s table and plain rows, in their order.
LIST_COLUMNS: tuple[str, ...] = tuple(
    f.name for f in sorted((f for f in FIELDS if f.listed), key=lambda f: f.listed)
)
SEARCHABLE: tuple[str, ...] = tuple(f.name for f in FIELDS if f.searchable)
FILTERABLE: tuple[str, ...] = tuple(f.name for f in FIELDS if f.filterable)
# Normalised Snipe-IT header -> field.
SNIPEIT_HEADERS: dict[str, str] = {h: f.name for f in FIELDS for h in f.snipeit}


def column(name: str) -> str:
    """The database column of field `name`."""
    return BY_NAME[name].column


def kind(name: str) -> Kind:
    return BY_NAME[name].kind


def names_of(kinds: set[Kind] | frozenset[Kind]) -> frozenset[str]:
    """Names of the fields of the given kinds."""
    return frozenset(f.name for f in FIELDS if f.kind in kinds)
