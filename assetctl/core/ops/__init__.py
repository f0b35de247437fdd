"""Operating assetctl: `setup` (init) and `doctor` (checks of every dependency)."""
