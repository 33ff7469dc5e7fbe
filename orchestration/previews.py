"""Small Markdown previews of bar frames and check findings for Dagster metadata.

Dagster renders ``MetadataValue.md`` in the UI; these helpers keep previews to a few rows so
materialization events stay small (pandas' ``to_markdown`` would need ``tabulate``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

PREVIEW_ROWS = 10


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, pd.Timestamp | datetime):
        return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S%z")
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).replace("|", "\\|")


def markdown_table(
    frame: pd.DataFrame, columns: Sequence[str] | None = None, rows: int = PREVIEW_ROWS
) -> str:
    """The first ``rows`` rows of ``frame`` (``columns`` only) as a Markdown table."""
    if columns is not None:
        frame = frame.loc[:, [c for c in columns if c in frame.columns]]
    head = frame.head(rows)
    lines = [
        "| " + " | ".join(str(c) for c in head.columns) + " |",
        "| " + " | ".join("---" for _ in head.columns) + " |",
    ]
    for record in head.itertuples(index=False, name=None):
        lines.append("| " + " | ".join(_cell(v) for v in record) + " |")
    if len(frame) > rows:
        lines.append(f"\n… {len(frame) - rows} more rows")
    return "\n".join(lines)


BAR_COLUMNS = ("symbol", "ts", "open", "high", "low", "close", "volume")
