"""Physical audits: walk a location with a barcode scanner and compare what is there with
what the inventory says.

Public face: `sessions` (start, list, status, the session lookup), `scanning` (record
codes), `closing` (apply the outcome), `codes` (what a scanned line may be). The tables are
in `db/tables.py` (`audit_sessions`, `audit_expected`, `audit_found`, `audit_scans`).
"""
