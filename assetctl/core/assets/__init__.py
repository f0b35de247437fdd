"""Assets: the field catalogue and everything that reads or changes assets.

Public face: `schema` (the field catalogue), `rules` (the status/assignee rulebook),
`fields` (value parsers), `commands` (add, update, assign, delete, ... one transaction
each), `listing` (filters, sorting, keyset cursors), `batch` (many assets per command),
`register` (machines), `reports`. `lookup` and `history` serve them.
"""
