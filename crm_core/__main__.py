"""Command line: python -m crm_core demo|load|metrics|explain|customers|...|user|audit|digest."""

from __future__ import annotations

import sys

from crm_core.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
