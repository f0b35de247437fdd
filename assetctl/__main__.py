"""`python -m assetctl` runs the same entry point as the console script."""

from assetctl.cli.main import main

if __name__ == "__main__":
    main()
