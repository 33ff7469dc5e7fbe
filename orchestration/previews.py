"""Small previews of bar frames and check findings as Dagster table metadata.

``preview_table`` turns the first rows of a frame into a ``MetadataValue.table`` (typed columns,
rendered as a table in the UI); ``column_schema`` gives an asset's ``dagster/column_schema``.
Timestamps in table cells are ISO 8601 UTC text (table records hold plain values only); run
and day timestamps go into ``MetadataValue.timestamp`` entries instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from dagster import MetadataValue, TableColumn, TableRecord, TableSchema

PREVIEW_ROWS = 10


def _column_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "timestamp"
    return "string"


def _cell(value: Any) -> str | int | float | bool | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def column_schema(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> TableSchema:
    """The typed columns of ``frame`` (``columns`` only, in that order)."""
    if columns is not None:
        frame = frame.loc[:, [c for c in columns if c in frame.columns]]
    return TableSchema(columns=[TableColumn(str(c), _column_type(frame[c])) for c in frame.columns])


def preview_table(
    frame: pd.DataFrame, columns: Sequence[str] | None = None, rows: int = PREVIEW_ROWS
) -> Any:
    """The first ``rows`` rows of ``frame`` (``columns`` only) as ``MetadataValue.table``."""
    if columns is not None:
        frame = frame.loc[:, [c for c in columns if c in frame.columns]]
    head = frame.head(rows)
    records = [
        TableRecord({str(c): _cell(v) for c, v in zip(head.columns, record, strict=True)})
        for record in head.itertuples(index=False, name=None)
    ]
    return MetadataValue.table(records=records, schema=column_schema(frame))


def timestamp(value: datetime | pd.Timestamp | None) -> Any:
    """``MetadataValue.timestamp`` of an aware instant (None when there is none)."""
    if value is None:
        return None
    return MetadataValue.timestamp(pd.Timestamp(value).to_pydatetime())


BAR_COLUMNS = ("symbol", "ts", "open", "high", "low", "close", "volume")
