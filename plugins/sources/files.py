"""The ``files`` data source: OHLCV bars from CSV or Parquet files with a declared column mapping.

Options (session config ``api_config.data_api_options`` or ``create_source("files", ...)``):

- ``path`` (required): a file, a directory (every ``*.csv``, ``*.csv.gz``, ``*.txt``,
  ``*.parquet`` in it) or a glob pattern.
- ``format``: ``"csv"`` or ``"parquet"``; default from the file suffix (``.txt`` is CSV).
- ``columns``: which file column holds which field: ``ts`` (one timestamp column) or ``date`` and
  ``time`` (two columns, or ``date`` alone for daily bars), ``open``, ``high``, ``low``,
  ``close``, ``volume`` (optional: no volume means 0), optionally ``symbol``. Fields left out
  are found by name, case-insensitively (``timestamp``/``ts``/``datetime``/``timestamp_utc``,
  ``date``, ``time``, ``open`` ...).
- ``names``: column names to use instead of the file's header row (for files whose header
  does not match their rows, like backtrader's minute files that lack ``Time`` in the header).
- ``timezone``: the zone of naive timestamps in the file (default ``UTC``); timestamps with an
  offset are converted as they are.
- ``symbol``: the symbol of a single-symbol file; otherwise the ``symbol`` column, otherwise the
  file name without its suffixes (``nvda-1999-2014.txt`` -> ``nvda-1999-2014``).
- ``interval``: the bars' interval (default ``1m``); ``request_bars`` for another interval
  raises ``SourceError``. ``1d`` rows given by date only are stamped at the session open of
  the exchange's calendar, like every daily bar in sessiond (a date that is no session keeps
  local midnight).

Files are read once, on the first request (never in the constructor). Timestamps are bar opens.
"""

from __future__ import annotations

import csv
import datetime as dt
import glob
import gzip
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import ConfigError, SourceError
from core.models import Bar
from core.timeframes import parse_interval
from plugins import hookimpl

if TYPE_CHECKING:  # pandas, numpy: imported when files are read, not when plugins load
    import pandas as pd

_FIELDS = ("ts", "date", "time", "open", "high", "low", "close", "volume", "symbol")
_ALIASES: dict[str, tuple[str, ...]] = {
    "ts": ("ts", "timestamp", "timestamp_utc", "datetime", "ts_event", "time_stamp"),
    "date": ("date", "day"),
    "time": ("time",),
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c"),
    "volume": ("volume", "vol", "v"),
    "symbol": ("symbol", "ticker", "instrument"),
}
_SUFFIXES = (".csv", ".csv.gz", ".txt", ".txt.gz", ".parquet", ".pq")


class FilesSource:
    """Bars read from CSV/Parquet files (see the module docstring for the options)."""

    name: ClassVar[str] = "files"
    description: ClassVar[str] = (
        "OHLCV bars from CSV or Parquet files with a declared column mapping and time zone"
    )

    def __init__(
        self,
        exchange: str = "XNYS",
        path: str | Path | None = None,
        format: str | None = None,
        columns: Mapping[str, str] | None = None,
        names: Sequence[str] | None = None,
        timezone: str = "UTC",
        symbol: str | None = None,
        interval: str = "1m",
    ) -> None:

        if path is None or str(path) == "":
            raise ConfigError("files source: option 'path' is required (a file, directory or glob)")
        if format is not None and format not in ("csv", "parquet"):
            raise ConfigError(f"files source: format must be 'csv' or 'parquet', was {format!r}")
        unknown = sorted(set(columns or {}) - set(_FIELDS))
        if unknown:
            raise ConfigError(
                f"files source: columns has unknown field(s) {', '.join(map(repr, unknown))} "
                f"(expected some of {', '.join(_FIELDS)})"
            )
        try:
            self.tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"files source: timezone {timezone!r} is not an IANA zone (e.g. 'UTC', "
                "'America/New_York')"
            ) from None
        self.exchange = exchange
        self.path = str(path)
        self.format = format
        self.columns = dict(columns or {})
        self.names = list(names) if names is not None else None
        self.symbol = symbol
        self.interval = parse_interval(interval).label
        self._frame: pd.DataFrame | None = None

    # -- DataSource ---------------------------------------------------------------------------

    def request_bars(
        self, symbols: Sequence[str], start: dt.datetime, end: dt.datetime, interval: str
    ) -> Iterator[Bar]:
        """Bars of ``symbols`` with ``start <= ts_event < end``, ordered by (symbol, ts_event)."""
        import pandas as pd

        label = parse_interval(interval).label
        if label != self.interval:
            raise SourceError(
                f"files source {self.path!r} holds {self.interval} bars; asked for {label} "
                "(set the 'interval' option, or aggregate the 1m bars)"
            )
        for name, value in (("start", start), ("end", end)):
            if not isinstance(value, dt.datetime) or value.tzinfo is None:
                raise SourceError(f"files source: {name} must be an aware datetime, was {value!r}")
        if isinstance(symbols, str):
            symbols = [symbols]
        frame = self.frame()
        start_ts, end_ts = (
            pd.Timestamp(start).tz_convert("UTC"),
            pd.Timestamp(end).tz_convert("UTC"),
        )
        for symbol in dict.fromkeys(symbols):
            rows = frame[frame["symbol"] == symbol]
            ts = rows["ts"]
            rows = rows[(ts >= start_ts) & (ts < end_ts)]
            stamps = pd.DatetimeIndex(rows["ts"]).to_pydatetime()
            for t, o, h, lo, c, v in zip(
                stamps,
                rows["open"].tolist(),
                rows["high"].tolist(),
                rows["low"].tolist(),
                rows["close"].tolist(),
                rows["volume"].tolist(),
                strict=True,
            ):
                yield Bar(symbol, label, t, o, h, lo, c, v, None, None, self.name)

    def symbols(self) -> list[str]:
        """The symbols present in the files."""
        return sorted(self.frame()["symbol"].unique().tolist())

    def frame(self) -> pd.DataFrame:
        """All bars as a DataFrame: symbol, ts (UTC), open, high, low, close, volume; sorted by
        (symbol, ts), duplicates (same symbol and ts) dropped keeping the last. Cached."""
        import pandas as pd

        if self._frame is None:
            files = self._files()
            parts = [self._read(path) for path in files]
            frame = pd.concat(parts, ignore_index=True)
            frame = frame.drop_duplicates(["symbol", "ts"], keep="last")
            self._frame = frame.sort_values(["symbol", "ts"], kind="stable").reset_index(drop=True)
        return self._frame

    # -- reading ------------------------------------------------------------------------------

    def _files(self) -> list[Path]:
        path = Path(self.path).expanduser()
        if path.is_file():
            return [path]
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(_SUFFIXES))
        else:
            files = sorted(Path(p) for p in glob.glob(str(path)) if Path(p).is_file())
        if not files:
            raise SourceError(f"files source: no data files at {self.path!r}")
        return files

    def _read(self, path: Path) -> pd.DataFrame:

        import numpy as np
        import pandas as pd

        fmt = self.format or ("parquet" if path.suffix in (".parquet", ".pq") else "csv")
        try:
            if fmt == "parquet":
                raw = pd.read_parquet(path)
                if self.names is not None:
                    raw.columns = self.names
            else:
                raw = self._read_csv(path)
        except (OSError, ValueError, pd.errors.ParserError) as error:
            raise SourceError(f"files source: cannot read {path}: {error}") from None
        mapping = self._mapping(path, list(raw.columns))
        out = pd.DataFrame({"ts": self._timestamps(path, raw, mapping)})
        for field in ("open", "high", "low", "close"):
            out[field] = pd.to_numeric(raw[mapping[field]], errors="coerce").to_numpy(np.float64)
        if "volume" in mapping:
            out["volume"] = (
                pd.to_numeric(raw[mapping["volume"]], errors="coerce")
                .fillna(0.0)
                .to_numpy(np.float64)
            )
        else:
            out["volume"] = 0.0
        if self.symbol is not None:
            out["symbol"] = self.symbol
        elif "symbol" in mapping:
            out["symbol"] = raw[mapping["symbol"]].astype(str).to_numpy()
        else:
            out["symbol"] = _stem(path)
        bad = out[["open", "high", "low", "close"]].isna().any(axis=1) | out["ts"].isna()
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise SourceError(
                f"files source: {path}: row {first + 2} has a missing or non-numeric price or "
                "timestamp; fix the file or the column mapping"
            )
        return out

    def _read_csv(self, path: Path) -> pd.DataFrame:

        import pandas as pd

        if self.names is not None:
            return pd.read_csv(
                path, header=0, names=self.names, index_col=False, float_precision="round_trip"
            )
        header, first = _first_rows(path)
        if first is not None and len(first) != len(header):
            raise SourceError(
                f"files source: {path}: the header names {len(header)} columns but rows have "
                f"{len(first)}; pass names=[...] with one name per column"
            )
        return pd.read_csv(path, index_col=False, float_precision="round_trip")

    def _mapping(self, path: Path, available: list[str]) -> dict[str, str]:
        by_lower = {str(c).strip().lower(): str(c) for c in available}
        mapping: dict[str, str] = {}
        for field, column in self.columns.items():
            if column not in available:
                raise SourceError(
                    f"files source: {path}: columns.{field} names {column!r}, which is not a "
                    f"column (columns: {', '.join(map(str, available))})"
                )
            mapping[field] = column
        for field in _FIELDS:
            if field in mapping:
                continue
            if field in ("time", "date") and "ts" in mapping:
                continue
            for alias in _ALIASES[field]:
                if alias in by_lower:
                    mapping[field] = by_lower[alias]
                    break
        if "ts" in mapping and "date" in mapping and "ts" not in self.columns:
            del mapping["ts"]  # an explicit date/time pair wins over a guessed ts column
        if "ts" in mapping:
            mapping.pop("date", None)
            mapping.pop("time", None)
        missing = [f for f in ("open", "high", "low", "close") if f not in mapping]
        if "ts" not in mapping and "date" not in mapping:
            missing.insert(0, "ts (or date)")
        if missing:
            raise SourceError(
                f"files source: {path}: cannot find column(s) for {', '.join(missing)} "
                f"(columns: {', '.join(map(str, available))}); declare them in 'columns'"
            )
        return mapping

    def _timestamps(self, path: Path, raw: pd.DataFrame, mapping: dict[str, str]) -> pd.Series:

        import pandas as pd

        if "ts" in mapping:
            text = raw[mapping["ts"]].astype(str)
        elif "time" in mapping:
            text = raw[mapping["date"]].astype(str) + " " + raw[mapping["time"]].astype(str)
        else:
            text = raw[mapping["date"]].astype(str)
        try:
            parsed = pd.to_datetime(text)  # format inferred from the first row: vectorised
        except (ValueError, TypeError):
            try:
                parsed = pd.to_datetime(text, format="mixed")
            except (ValueError, TypeError) as error:
                raise SourceError(
                    f"files source: {path}: timestamps do not parse: {error}"
                ) from None
        date_only = "ts" not in mapping and "time" not in mapping
        if date_only and self.interval == "1d" and parsed.dt.tz is None:
            return self._session_opens(parsed)
        if parsed.dt.tz is None:
            parsed = parsed.dt.tz_localize(self.tz, ambiguous="raise", nonexistent="raise")
        return parsed.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")

    def _session_opens(self, dates: pd.Series) -> pd.Series:
        """Daily rows given by date only are stamped at the session open on the exchange's
        calendar (sessiond's convention for ``1d`` bars); a date that is no session there, or
        outside the calendar, keeps local midnight in ``timezone``."""
        import pandas as pd

        from core import calendars
        from core.errors import CalendarError

        opens: dict[pd.Timestamp, pd.Timestamp] = {}
        for day in dates.dropna().unique():
            stamp = pd.Timestamp(day)
            try:
                if calendars.is_session(self.exchange, stamp.date()):
                    opens[stamp] = pd.Timestamp(
                        calendars.session_bounds(self.exchange, stamp.date()).open
                    )
                    continue
            except CalendarError:
                pass
            opens[stamp] = stamp.tz_localize(self.tz).tz_convert("UTC")
        return dates.map(opens).astype("datetime64[ns, UTC]")


def _first_rows(path: Path) -> tuple[list[str], list[str] | None]:
    """The header row and the first data row of a CSV file (plain or gzip)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", newline="") as handle:  # type: ignore[operator]
        reader = csv.reader(handle)
        header = next(reader, [])
        first = next(reader, None)
    return header, first


def _stem(path: Path) -> str:
    name = path.name
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


@hookimpl
def register_data_sources() -> list[type]:
    return [FilesSource]


__all__ = ["FilesSource"]
