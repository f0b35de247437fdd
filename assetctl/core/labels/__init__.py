"""Asset labels with QR codes.

Public face: `templates` (the label sizes, declared once: `TEMPLATES`), `formats` (the
output formats of labels, declared once: `FORMATS`), `service.make_labels` (assets -> rendered
pages, one read transaction), `output` (writing files atomically, sending ZPL to a printer).
`qr`, `fonts` and `layout` serve them; the renderers live in `render_*.py`.
"""
