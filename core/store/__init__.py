"""The store: market data, derived data and session runs in SQLite or PostgreSQL.

- ``engine``: URLs, engines and their pragmas (SQLite WAL, ``BEGIN IMMEDIATE`` writers),
  JSON and UTC helpers;
- ``writer``: the idempotent bulk upsert of row tuples (SQLite multi-row ``executemany``,
  PostgreSQL binary ``COPY``);
- ``reads``: compiled SELECTs on the driver's cursor, and bars read straight into columns;
- ``mappings``: one declarative mapping per record (table, renamed and key columns, read order);
- ``store``: :class:`Store`, the typed reads and writes everything else uses.
"""

from core.models import IndicatorSeries, PhaseVolume, SessionRun  # their home since #16
from core.store.engine import SQLITE_BUSY_TIMEOUT_MS, default_db_url, normalize_url
from core.store.reads import FRAME_COLUMNS, bars_frame
from core.store.store import Store
from core.store.writer import (
    COPY_MIN_ROWS,
    DATETIME_CACHE_SIZE,
    SQLITE_ROWS_PER_STATEMENT,
    UNIQUE_TIME_COLUMNS,
)

__all__ = [
    "COPY_MIN_ROWS",
    "DATETIME_CACHE_SIZE",
    "FRAME_COLUMNS",
    "IndicatorSeries",
    "PhaseVolume",
    "SessionRun",
    "SQLITE_BUSY_TIMEOUT_MS",
    "SQLITE_ROWS_PER_STATEMENT",
    "UNIQUE_TIME_COLUMNS",
    "Store",
    "bars_frame",
    "default_db_url",
    "normalize_url",
]
