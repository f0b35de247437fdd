"""The asset field catalogue: every asset field, declared once.

Everything else that knows about asset fields derives from `FIELDS`: the `assets` table
(`db/tables.py`), the value parsers (`fields.py`), listing's sort/search/filter whitelists
(`listing.py`), export columns and import staging (`core/bulk`), the cache codec
(`json_values.py`) and the `asset add`/`asset update` options (`cli/asset.py`).

Adding a plain text field is one `Field(...)` line here (appended, so positional readers of
CSV/TSV output keep working), one Alembic migration adding the column (and its `(field, id)`
index when sortable), and tests. The README's Development section has the recipe.

Pure data: no SQLAlchemy, no I/O. It is imported on the cache-hit path.
"""

from __future__ import annotations

from enum import StrEnum

from assetctl.core.assets.rules import STATUSES

# How a REF argument names an asset by id whatever tags exist (`asset show id:42`).
ID_PREFIX = "id:"


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


class Field:
    """One asset field. (A plain slotted class, not a dataclass: it is built on the start-up
    path of every asset command, where a dataclass costs about 1.5 ms to create.)"""

    __slots__ = (
        "audited",
        "clearable",
        "filterable",
        "help",
        "input",
        "kind",
        "listed",
        "long",
        "lower",
        "max_len",
        "multiline",
        "name",
        "nullable",
        "reference",
        "repeats",
        "required",
        "searchable",
        "snipeit",
        "sortable",
        "stored_as",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        kind: Kind,
        help: str = "",
        *,
        input: Input = Input.EDIT,
        max_len: int | None = None,  # TEXT: longest accepted value, in characters
        long: bool = False,  # TEXT: stored as unbounded TEXT rather than VARCHAR(max_len)
        multiline: bool = False,  # TEXT: newlines and tabs are allowed
        lower: bool = False,  # stored lower-cased (compared case-insensitively)
        required: bool = False,  # a new asset must have it
        nullable: bool = True,
        clearable: bool = False,  # `update --FIELD ""` sets it to null
        sortable: bool = False,  # `--sort FIELD`; has a (column, id) index
        searchable: bool = False,  # matched by `list --search` (case-insensitive substring)
        filterable: bool = False,  # `list --FIELD VALUE` exact filter
        repeats: bool = False,  # values repeat across an inventory: import memoises parsing
        # Snipe-IT export/import headers (normalised) that hold this field as is; columns
        # that need converting (checkouts, warranty months, EOL) are `core.bulk.snipeit`'s.
        snipeit: tuple[str, ...] = (),
        stored_as: str | None = None,  # the column name when it differs from the field name
        listed: int = 0,  # its place among `asset list`'s default columns (0: not shown)
        audited: bool = True,  # a change is listed in the asset's history
        # Values name assets in REF arguments, so none may start with ID_PREFIX: `asset
        # show id:5` means the id, and such a tag could never be reached.
        reference: bool = False,
    ) -> None:
        self.name, self.kind, self.help, self.input = name, kind, help, input
        self.max_len, self.long, self.multiline = max_len, long, multiline
        self.lower, self.required, self.nullable = lower, required, nullable
        self.clearable, self.sortable, self.searchable = clearable, sortable, searchable
        self.filterable, self.repeats, self.snipeit = filterable, repeats, snipeit
        self.stored_as, self.listed, self.audited = stored_as, listed, audited
        self.reference = reference

    def __repr__(self) -> str:
        return f"Field({self.name!r}, {self.kind.value!r})"

    @property
    def column(self) -> str:
        return self.stored_as or self.name

    @property
    def settable(self) -> bool:
        return self.input is not Input.SYSTEM

    @property
    def metavar(self) -> str:
        """What `--help` shows for the field's value: `DATE`, `AMOUNT`, `TAG`, `TEXT`..."""
        if self.kind in _KIND_METAVARS:
            return _KIND_METAVARS[self.kind]
        return "TEXT" if self.long else self.name.upper()


_KIND_METAVARS = {
    Kind.DATE: "DATE",
    Kind.MONEY: "AMOUNT",
    Kind.JSON: "JSON",
    Kind.INT: "N",
    Kind.ID: "ID",
    Kind.TIMESTAMP: "TIME",
}


def _system(
    name: str,
    kind: Kind,
    *,
    nullable: bool = False,
    sortable: bool = False,
    max_len: int = 0,
    audited: bool = False,
) -> Field:
    """A column assetctl manages itself: shown and exported, never set by users or files,
    and (bookkeeping) not listed in history unless `audited`."""
    return Field(
        name, kind, input=Input.SYSTEM, nullable=nullable, sortable=sortable,
        max_len=max_len or None, audited=audited,
    )  # fmt: skip


# The stable JSON order of an asset. New fields go at the end.
FIELDS: tuple[Field, ...] = (
    _system("id", Kind.ID, sortable=True),
    Field(
        "tag", Kind.TEXT, "Unique asset tag, e.g. LAP-0042 (max 64).", max_len=64,
        required=True, nullable=False, sortable=True, searchable=True, snipeit=("asset_tag",),
        listed=1, reference=True,
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
        "status", Kind.ENUM, f"{', '.join(STATUSES[:-1])} or {STATUSES[-1]}.",
        nullable=False, sortable=True, filterable=True, repeats=True,
        snipeit=("status", "status_label"), listed=4,
    ),
    Field(
        "serial", Kind.TEXT, "Serial number (unique among active assets).", max_len=128,
        clearable=True, sortable=True, searchable=True,
        snipeit=("serial", "serial_number", "serial_no"), listed=7,
    ),
    Field(
        "manufacturer", Kind.TEXT, "Manufacturer, e.g. Lenovo.", max_len=200, clearable=True,
        sortable=True, repeats=True, snipeit=("manufacturer",),
    ),
    Field(
        "model", Kind.TEXT, "Model, e.g. ThinkPad T14.", max_len=200, clearable=True,
        sortable=True, searchable=True, repeats=True,
        snipeit=("model", "model_name", "asset_model"),
    ),
    Field(
        "location", Kind.TEXT, "Where the asset is.", max_len=200, clearable=True,
        sortable=True, filterable=True, repeats=True, snipeit=("location",), listed=6,
    ),
    Field(
        "assignee", Kind.TEXT, "Person the asset is assigned to.", input=Input.ADD,
        max_len=200, sortable=True, searchable=True, filterable=True, repeats=True, listed=5,
    ),
    Field(
        "purchase_date", Kind.DATE, "Purchase date, YYYY-MM-DD.", clearable=True,
        sortable=True, repeats=True, snipeit=("purchase_date", "purchased"),
    ),
    Field(
        "purchase_cost", Kind.MONEY, "Purchase cost, e.g. 1299.50.", clearable=True,
        sortable=True, repeats=True, snipeit=("purchase_cost", "cost"),
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
        clearable=True, snipeit=("notes", "asset_notes"),
    ),
    _system("version", Kind.INT),
    _system("created_at", Kind.TIMESTAMP, sortable=True),
    _system("updated_at", Kind.TIMESTAMP, sortable=True),
    _system("created_by", Kind.TEXT, max_len=320),
    _system("updated_by", Kind.TEXT, max_len=320),
    _system("deleted_at", Kind.TIMESTAMP, nullable=True, audited=True),  # delete/restore
    Field(
        "hostname", Kind.TEXT, "Host name of the machine, e.g. lap-0042.corp.example.",
        max_len=255, clearable=True, sortable=True, searchable=True, filterable=True,
    ),
    # Machine facts, set by `asset register --self/--facts` and like any other field.
    Field(
        "hardware_uuid", Kind.TEXT, "Hardware (SMBIOS) UUID of the machine.", max_len=36,
        lower=True, clearable=True, sortable=True, searchable=True, filterable=True,
    ),
    Field(
        "os", Kind.TEXT, "Operating system and version, e.g. Ubuntu 24.04.1 LTS.", max_len=200,
        clearable=True, sortable=True, searchable=True, filterable=True, repeats=True,
    ),
    Field(
        "mac_addresses", Kind.TEXT,
        "MAC addresses of the physical network interfaces, comma-separated.", max_len=1000,
        lower=True, clearable=True, searchable=True,
    ),
    # Written by `audit close` for every asset found in the audit: when it was scanned and
    # by whom (`report unaudited` and `--sort last_audited_at` read them).
    Field(
        "last_audited_at", Kind.TIMESTAMP, "When a physical audit last found the asset.",
        input=Input.SYSTEM, sortable=True,
    ),
    Field(
        "audited_by", Kind.TEXT, "Who scanned the asset in its last audit.", input=Input.SYSTEM,
        max_len=320, filterable=True,
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
