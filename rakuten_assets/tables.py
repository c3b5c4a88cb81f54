"""Markdown tables for people: CLI output, Dagster metadata, benchmark reports and docs."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from tabulate import tabulate


def markdown_table(frame: pd.DataFrame, floatfmt: str | Sequence[str] = "g") -> str:
    """``frame`` as a markdown pipe table (no index, as ``DataFrame.to_markdown``); ``(none)`` if empty.

    ``floatfmt`` is one format for every column or one per column (non-float ones ignore it).
    """
    if frame.empty:
        return "(none)"
    return str(tabulate(frame, headers="keys", tablefmt="pipe", floatfmt=floatfmt, showindex=False))
