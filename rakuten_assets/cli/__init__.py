"""`rakuten`: the operator's command line (the Makefile verbs are thin wrappers over it)."""

from rakuten_assets.cli import data, demo, drift, operators, servers
from rakuten_assets.cli._base import main

__all__ = ["data", "demo", "drift", "main", "operators", "servers"]

if __name__ == "__main__":
    main()
