"""AI descriptions of assets from photos. Public face: `service`; `images` (normalising),
`prompt` and `run` (the concurrent pipeline) serve it.
"""
