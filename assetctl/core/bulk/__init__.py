"""Bulk moves of the inventory. Public face: `importer.import_assets` and
`export.export_assets`; the rest is the import pipeline: `decode` (encodings, line ends),
`reader` (formats, header plan), `mapping`, `dates`, `snipeit`/`snipeit_api`, `direct`
(PostgreSQL COPY fast path), `staging` + `write` (the checked path), `copy_in`, `replay`.
"""
