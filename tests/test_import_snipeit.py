"""Snipe-IT: its importer's and exports' asset columns, status labels, checkouts, warranty,
the notes block for columns without a field, and `--from-snipeit URL` against a local server
that follows Snipe-IT's API. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from .asset_fixtures import counts, events_of, snapshot
from .conftest import Cli
from .snipeit_fake import TOKEN, FakeSnipeIT, asset_row, snipeit  # noqa: F401 - fixture
from .test_import import assert_rejected, listed, write

# Every asset column of Snipe-IT's CSV importer, by its English label.
IMPORTER_HEADER = (
    "Company,Location,Asset Name,Asset Tag,Model Name,BYOD,Model No.,Status,Warranty,"
    "Category,Requestable,Serial Number,Supplier,Purchase Cost,Purchase Date,Asset Notes,"
    "Model Notes,Manufacturer,Order Number,Image Filename,EOL Date,Checkout Type,"
    "Checked Out to: First Name,Checked Out to: Last Name,Checked Out to: Full Name,"
    "Checked Out to: Email,Checked Out to: Username,Checkout to Location,Last Checkin Date,"
    "Checkout Date,Expected Checkin Date,Last Audit,Next Audit Date"
)


def _row(**cells: str) -> str:
    names = IMPORTER_HEADER.split(",")
    unknown = set(cells) - set(names)
    assert not unknown, unknown
    return ",".join(f'"{cells.get(name, "")}"' for name in names)


def test_every_importer_column_is_mapped_or_kept(cli: Cli, db_url: str, tmp_path: Path) -> None:
    rows = [
        _row(
            **{
                "Company": "Example Corp",
                "Location": "Berlin",
                "Asset Name": "Design laptop",
                "Asset Tag": "SN-1",
                "Model Name": "MacBook Pro 14",
                "BYOD": "0",
                "Model No.": "A2442",
                "Status": "Ready to Deploy",
                "Warranty": "36",
                "Category": "Laptops",
                "Serial Number": "C02X1",
                "Supplier": "ACME",
                "Purchase Cost": "1,999.00",
                "Purchase Date": "2023-05-02",
                "Asset Notes": "Dongle",
                "Manufacturer": "Apple",
                "Order Number": "PO-7",
                "EOL Date": "2028-05-02",
                "Checkout Type": "user",
                "Checked Out to: First Name": "Ana",
                "Checked Out to: Last Name": "Silva",
                "Checked Out to: Email": "ana@example.com",
            }
        ),
        _row(
            **{
                "Asset Name": "Spare monitor",
                "Asset Tag": "SN-2",
                "Category": "Monitors",
                "Status": "Out for Repair",
                "EOL Date": "2027-01-31",
                "Checkout Type": "location",
                "Checkout to Location": "Store room",
            }
        ),
        _row(
            **{
                "Asset Name": "Old phone",
                "Asset Tag": "SN-3",
                "Category": "Phones",
                "Status": "Lost/Stolen",
            }
        ),
    ]
    path = write(tmp_path, "snipe.csv", IMPORTER_HEADER + "\n" + "\n".join(rows) + "\n")
    result = cli("asset", "import", path, "-o", "json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert report["format"] == "snipeit"
    assert report["notes_columns"] == [
        "Company", "BYOD", "Model No.", "Requestable", "Supplier", "Model Notes",
        "Order Number", "Image Filename", "Last Checkin Date", "Checkout Date",
        "Expected Checkin Date", "Last Audit", "Next Audit Date",
    ]  # fmt: skip
    # Every column that is not kept is named with the reason.
    assert {c["column"] for c in report["ignored_columns"]} == {
        "Checkout Type", "Checked Out to: First Name", "Checked Out to: Last Name",
        "Checked Out to: Full Name",
    }  # fmt: skip
    assert all(c["reason"] for c in report["ignored_columns"])
    assert "Kept in notes: Company, BYOD, Model No." in result.stderr
    assert "Not kept: Checkout Type (decides between" in result.stderr
    assets = listed(cli)
    one = assets["SN-1"]
    assert (one["status"], one["assignee"], one["location"]) == (
        "assigned", "ana@example.com", "Berlin",
    )  # fmt: skip
    assert (one["model"], one["serial"], one["purchase_cost"]) == ("MacBook Pro 14", "C02X1", 1999)
    # Warranty months counted from the purchase date; the unused EOL date kept in notes.
    assert one["warranty_until"] == "2026-05-02"
    assert one["notes"] == (
        "Dongle\n\n-- Snipe-IT --\nCompany: Example Corp\nBYOD: 0\nModel No.: A2442\n"
        "Supplier: ACME\nOrder Number: PO-7\nEOL Date: 2028-05-02"
    )
    two = assets["SN-2"]
    assert (two["status"], two["assignee"], two["location"]) == ("in_repair", None, "Store room")
    assert two["warranty_until"] == "2027-01-31"  # EOL, with no warranty given
    assert (assets["SN-3"]["status"], assets["SN-3"]["assignee"]) == ("lost", None)


def test_ui_export_columns(cli: Cli, tmp_path: Path) -> None:
    header = (
        "ID,Company,Asset Name,Asset Tag,Model,Model No.,Category,Status,Checked Out To,"
        "Email,Username,Location,Default Location,Serial,Purchase Date,Purchase Cost,"
        "Order Number,Supplier,Warranty,Warranty Expires,EOL,Notes,Created At,Updated At,"
        "Custom: RAM"
    )
    row = (
        "17,Example Corp,Dev laptop,UI-1,XPS 13,9310,Laptops,Ready to Deploy,Ana Silva,"
        "ana@example.com,asilva,Berlin,HQ,SER-UI-1,2024-02-01 00:00:00,$1299.99,PO-9,Dell,"
        "36 months,2027-02-01,,Kept,2024-02-01 10:00:00,2024-02-02 10:00:00,16 GB"
    )
    result = cli("asset", "import", write(tmp_path, "ui.csv", f"{header}\n{row}\n"))
    assert result.exit_code == 0, result.stderr
    asset = listed(cli)["UI-1"]
    assert (asset["assignee"], asset["status"]) == ("ana@example.com", "assigned")
    assert (asset["warranty_until"], asset["purchase_cost"]) == ("2027-02-01", 1299.99)
    # Warranty Expires is the end date; the months it came from are kept in notes.
    assert "Warranty: 36 months" in asset["notes"]
    assert "Custom: RAM: 16 GB" in asset["notes"]
    assert "Default Location: HQ" in asset["notes"]
    assert "Not kept: ID (Snipe-IT's own record number" in result.stderr


def test_ui_export_status_of_a_checked_out_asset(cli: Cli, tmp_path: Path) -> None:
    """The UI export writes a checked-out asset's Status as its label and the "Deployed"
    badge: "Ready to Deploy Deployed"."""
    header = "Asset Tag,Asset Name,Category,Status,Checked Out To,Email"
    row = "UI-2,Laptop,Laptops,Ready to Deploy Deployed,Ana Silva,ana@example.com"
    result = cli("asset", "import", write(tmp_path, "ui2.csv", f"{header}\n{row}\n"))
    assert result.exit_code == 0, result.stderr
    asset = listed(cli)["UI-2"]
    assert (asset["status"], asset["assignee"]) == ("assigned", "ana@example.com")


def test_custom_report_columns(cli: Cli, tmp_path: Path) -> None:
    """Snipe-IT's custom asset report (ReportsController): `Purchased` and `Cost` headers,
    and a Status cell that carries the status type after the label."""
    header = "Asset Tag,Name,Category,Serial,Purchased,Cost,Status,Checked Out,Type"
    rows = (
        "CR-1,Dock,Docks,SER-CR-1,2024-03-01 00:00:00,$149.00,Ready to Deploy (deployable),,\n"
        "CR-2,Old phone,Phones,SER-CR-2,2019-05-01 00:00:00,99.50,Archived (archived),,\n"
    )
    result = cli("asset", "import", write(tmp_path, "custom.csv", f"{header}\n{rows}"))
    assert result.exit_code == 0, result.stderr
    assets = listed(cli)
    assert (assets["CR-1"]["status"], assets["CR-2"]["status"]) == ("in_stock", "retired")
    assert (assets["CR-1"]["purchase_date"], assets["CR-1"]["purchase_cost"]) == (
        "2024-03-01",
        149.0,
    )
    assert assets["CR-2"]["purchase_cost"] == 99.5


def test_unmapped_status_label_names_it_and_status_map(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    before = snapshot(db_url)
    path = write(
        tmp_path,
        "s.csv",
        "Asset Tag,Asset Name,Category,Status\nS-1,a,c,In Transit\nS-2,b,c,Pending\n"
        "S-3,c,c,In Transit\n",
    )
    lines = assert_rejected(cli, db_url, cli("asset", "import", path), 2, before)
    message = (
        "Snipe-IT status label 'In Transit' has no assetctl status; pass --status-map "
        "'In Transit=STATUS' (in_stock, assigned, in_repair, retired, lost)"
    )
    assert lines == [
        f"line 2, column Status, value 'In Transit': {message}",
        f"line 4, column Status, value 'In Transit': {message}",
    ]
    cli.ok("asset", "import", path, "--status-map", "in transit=in_stock")
    assert {a["status"] for a in listed(cli).values()} == {"in_stock"}


def test_checkout_without_email_or_username_is_refused(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    before = snapshot(db_url)
    path = write(
        tmp_path,
        "c.csv",
        "Asset Tag,Asset Name,Category,Checked Out to: First Name,Checked Out to: Last Name,"
        "Checked Out to: Email\nC-1,a,c,Ana,Silva,\nC-2,b,c,,,bob@example.com\n",
    )
    lines = assert_rejected(cli, db_url, cli("asset", "import", path), 2, before)
    assert lines == [
        "line 2, column Checked Out to: First Name, value 'Ana Silva': checked out to "
        "'Ana Silva', but the row has neither an email nor a username; assetctl records the "
        "assignee by one of them (add a 'Checked Out to: Email' or 'Checked Out to: "
        "Username' column)"
    ]


def test_us_dates_of_a_snipeit_file(cli: Cli, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "d.csv",
        "Asset Tag,Asset Name,Category,Purchase Date\nD-1,a,c,1/23/23\nD-2,b,c,2/1/23\n",
    )
    cli.ok("asset", "import", path)
    assets = listed(cli)
    assert (assets["D-1"]["purchase_date"], assets["D-2"]["purchase_date"]) == (
        "2023-01-23", "2023-02-01",
    )  # fmt: skip


# --- --from-snipeit -----------------------------------------------------------------------


def test_from_snipeit_pages_through_every_asset(cli: Cli, snipeit: FakeSnipeIT) -> None:  # noqa: F811
    snipeit.rows = [asset_row(n) for n in range(1, 1204)]
    snipeit.rows[0] = asset_row(
        1,
        assigned_to={"id": 9, "username": "ana", "name": "Ana Silva", "first_name": "Ana",
                     "last_name": "Silva", "email": "ana@example.com", "type": "user"},
        status_label={"id": 1, "name": "Ready to Deploy", "status_meta": "deployed"},
        custom_fields={"RAM": {"field": "_snipeit_ram_2", "value": "32 GB"}},
    )  # fmt: skip
    snipeit.throttle = {500: 2}  # the second page is throttled twice, then served
    env = {"ASSETCTL_SNIPEIT_TOKEN": TOKEN}
    result = cli("asset", "import", "--from-snipeit", snipeit.url, env=env)
    assert result.exit_code == 0, result.stderr
    assert "Fetched 1203 assets from Snipe-IT." in result.stderr
    assert "1203 created" in result.stderr
    offsets = [(q["offset"][0], q["limit"][0]) for q in snipeit.requests]
    assert offsets == [("0", "500"), ("500", "500"), ("500", "500"), ("500", "500"),
                       ("1000", "500")]  # fmt: skip
    assets = listed(cli)
    first = assets["SNIPE-00001"]
    assert (first["name"], first["assignee"], first["status"]) == (
        "Laptop 1 & dock", "ana@example.com", "assigned",
    )  # fmt: skip
    assert (first["purchase_cost"], first["warranty_until"]) == (1299, "2026-01-14")
    assert "RAM: 32 GB" in first["notes"]
    assert "Company: Example Corp" in first["notes"]
    # The same server again, with --update: nothing changes.
    snipeit.requests.clear()
    again = cli("asset", "import", "--from-snipeit", snipeit.url, "--update", env=env)
    assert again.exit_code == 0, again.stderr
    assert "0 created, 0 updated, 1203 unchanged" in again.stderr


def test_from_snipeit_token_from_stdin(cli: Cli, snipeit: FakeSnipeIT) -> None:  # noqa: F811
    snipeit.rows = [asset_row(1)]
    # The installed entry point, token on stdin (never a flag), URL with a trailing slash.
    result = cli.sub("asset", "import", "--from-snipeit", snipeit.url + "/", input=TOKEN + "\n")
    assert result.exit_code == 0, result.stderr
    assert "1 created" in result.stderr
    assert list(listed(cli)) == ["SNIPE-00001"]


def test_from_snipeit_failures_are_exit_7_naming_the_host(
    cli: Cli,
    db_url: str,
    snipeit: FakeSnipeIT,  # noqa: F811
) -> None:
    snipeit.rows = [asset_row(n) for n in range(1, 1001)]
    before = snapshot(db_url)
    env = {"ASSETCTL_SNIPEIT_TOKEN": "wrong"}
    bad_token = cli("asset", "import", "--from-snipeit", snipeit.url, env=env)
    assert bad_token.exit_code == 7
    assert "Snipe-IT at 127.0.0.1 refused the API token (HTTP 401)" in bad_token.stderr
    env = {"ASSETCTL_SNIPEIT_TOKEN": TOKEN}
    snipeit.fail = {500}  # the second page fails: nothing is imported
    half = cli("asset", "import", "--from-snipeit", snipeit.url, env=env)
    assert half.exit_code == 7
    assert "Snipe-IT at 127.0.0.1 answered with an error (HTTP 500): Server Error" in half.stderr
    snipeit.fail = set()
    snipeit.html = True
    page = cli("asset", "import", "--from-snipeit", snipeit.url, env=env)
    assert page.exit_code == 7
    assert "Snipe-IT at 127.0.0.1 answered with a web page, not API JSON" in page.stderr
    snipeit.html = False
    snipeit.throttle = {0: 10}
    throttled = cli("asset", "import", "--from-snipeit", snipeit.url, env=env)
    assert throttled.exit_code == 7
    assert "kept answering 'too many requests' (HTTP 429)" in throttled.stderr
    for result in (bad_token, half, page, throttled):
        assert "Traceback" not in result.stderr
    assert snapshot(db_url) == before
    assert counts(db_url) == (0, 0)


def test_from_snipeit_server_down(cli: Cli, db_url: str) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"ASSETCTL_SNIPEIT_TOKEN": TOKEN}
    result = cli.sub("asset", "import", "--from-snipeit", f"http://127.0.0.1:{port}", env=env)
    assert result.exit_code == 7
    assert "cannot connect to Snipe-IT at 127.0.0.1" in result.stderr
    assert counts(db_url) == (0, 0)


def test_from_snipeit_refuses_plain_http_to_another_host(cli: Cli) -> None:
    env = {"ASSETCTL_SNIPEIT_TOKEN": TOKEN}
    result = cli("asset", "import", "--from-snipeit", "http://snipe.example.com", env=env)
    assert result.exit_code == 2
    assert "would send the API token unencrypted" in result.stderr
    both = cli("asset", "import", "x.csv", "--from-snipeit", "https://snipe.example.com")
    assert both.exit_code == 2
    assert "give either a FILE to import or --from-snipeit URL" in both.stderr


def test_snipeit_history_records_the_import(cli: Cli, db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, "h.csv", "Asset Tag,Asset Name,Category,Supplier\nH-1,a,c,ACME\n")
    cli.ok("asset", "import", path)
    events = events_of(db_url, "H-1")
    assert [e["action"] for e in events] == ["imported"]
    assert events[0]["changes"]["notes"]["new"] == "-- Snipe-IT --\nSupplier: ACME"


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    from assetctl.core.bulk.snipeit_api import DEFAULT_WAIT, MAX_WAIT, _retry_after

    assert _retry_after("3") == 3
    assert _retry_after("3600") == MAX_WAIT
    assert _retry_after(None) == _retry_after("soon") == DEFAULT_WAIT
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # already past
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= _retry_after(later) <= 30
