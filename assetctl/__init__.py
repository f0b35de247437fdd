"""assetctl: command-line administration of company IT assets."""

# Kept as a literal (not importlib.metadata) so `assetctl --version` reads no package metadata.
__version__ = "0.1.0"
