"""One declarative mapping per record: which table holds it and how fields become columns.

A :class:`RecordMapping` names the record (``core.models``), its table (``core.tables``), the
fields stored under another column name (``ts_event`` -> ``ts``, ``index_id`` -> ``symbol``),
the key columns (the table's primary key: what an upsert conflicts on), the read order, and the
few conversions that are not plain copies: columns computed from the record (``event_key``),
columns given per write (the ``source`` of indicator values), field encoders and decoders
(an ``Aggressor`` stored as its value, ``None`` minute of day stored as -1 ...). From that the
store builds, once per mapping, a row builder (record -> tuple in column order, times already
converted for the driver) and a record builder (driver tuple -> record); both are generated
functions, as ``collections.namedtuple`` generates its ``__new__``, so that a million bars are
not a million trips through a generic loop.

Timestamp columns are checked (aware UTC, naive raises ``StoreError`` naming ``Record.field``)
and converted by the table writer's cached converters; JSON, date and boolean columns are
decoded from whatever the driver returns (SQLite text and integers, PostgreSQL objects).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from core import tables
from core.models import (
    Aggressor,
    Bar,
    ForeignRoom,
    IndexTick,
    IndicatorValue,
    PhaseVolume,
    QualityResult,
    Quote,
    SecurityStatus,
    SessionRun,
    Trade,
)
from core.store.engine import aware, content_key, json_loads
from core.store.reads import to_date

Computed = Callable[[Any, dict[Any, Any]], Any]
"""``(record, state) -> column value``; ``state`` is a fresh dict per write call."""
OrderBy = str | Callable[[sa.Table], Any]
"""A column name, or ``table -> SQL expression``."""


@dataclass(frozen=True)
class RecordMapping:
    """How one record kind is stored (module docstring)."""

    record: type
    table: type[tables.SQLModel]
    key: tuple[str, ...]
    read_order: tuple[OrderBy, ...]
    renamed: Mapping[str, str] = field(default_factory=dict)
    computed: Mapping[str, Computed] = field(default_factory=dict)
    parameters: tuple[str, ...] = ()
    encode: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    decode: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        primary = tuple(c.name for c in self.core_table.primary_key.columns)
        if self.key != primary:  # the declaration and the table must agree
            raise AssertionError(f"{self.record.__name__}: key {self.key} != primary key {primary}")

    @property
    def core_table(self) -> sa.Table:
        return self.table.__table__  # type: ignore[attr-defined,no-any-return]

    @property
    def record_fields(self) -> tuple[str, ...]:
        if is_dataclass(self.record):
            return tuple(f.name for f in fields(self.record))
        return tuple(self.record._fields)  # type: ignore[attr-defined]

    def column_of(self, record_field: str) -> str:
        return self.renamed.get(record_field, record_field)

    def field_labels(self) -> dict[str, str]:
        """Column -> ``Record.field`` (how errors about a column's values name it)."""
        back = {column: name for name, column in self.renamed.items()}
        return {
            column.name: f"{self.record.__name__}.{back.get(column.name, column.name)}"
            for column in self.core_table.columns
        }

    def order_by(self) -> list[Any]:
        table = self.core_table
        return [table.c[o] if isinstance(o, str) else o(table) for o in self.read_order]

    # -- generated converters ------------------------------------------------------------------

    def row_builder(
        self, converters: Mapping[str, Callable[[Any], Any]]
    ) -> Callable[..., tuple[Any, ...]]:
        """``build(record, state, **parameters) -> row`` in table column order, columns
        converted for the driver by ``converters`` (column -> converter; None stays None)."""
        back = {column: name for name, column in self.renamed.items()}
        names: dict[str, Any] = {}
        parts = []
        for i, column in enumerate(self.core_table.columns):
            name = column.name
            if name in self.computed:
                names[f"c{i}"] = self.computed[name]
                value = f"c{i}(r, state)"
            elif name in self.parameters:
                value = f"params[{name!r}]"
            else:
                attribute = back.get(name, name)
                value = f"r.{attribute}"
                if attribute in self.encode:
                    names[f"e{i}"] = self.encode[attribute]
                    value = f"e{i}({value})"
            if name in converters:
                names[f"t{i}"] = converters[name]
                value = (
                    f"(None if {value} is None else t{i}({value}))"
                    if column.nullable
                    else f"t{i}({value})"
                )
            parts.append(value)
        source = f"def build(r, state, params):\n    return ({', '.join(parts)},)\n"
        return _compile(source, names, "build")

    def record_builder(self, to_utc: Callable[[Any], datetime]) -> Callable[[tuple[Any, ...]], Any]:
        """``make(row) -> record`` for rows selected in table column order."""
        index = {column.name: i for i, column in enumerate(self.core_table.columns)}
        names: dict[str, Any] = {"Record": self.record, "to_utc": to_utc}
        arguments = []
        for attribute in self.record_fields:
            column_name = self.column_of(attribute)
            if column_name not in index:
                continue  # a field the table does not keep: the record's default
            column = self.core_table.c[column_name]
            value = f"r[{index[column_name]}]"
            if isinstance(column.type, tables.UTCDateTime):
                value = (
                    f"(None if {value} is None else to_utc({value}))"
                    if column.nullable
                    else f"to_utc({value})"
                )
            elif isinstance(column.type, sa.JSON):
                names["json_loads"] = json_loads
                value = f"json_loads({value})"
            elif isinstance(column.type, sa.Date):
                names["to_date"] = to_date
                value = f"to_date({value})"
            elif isinstance(column.type, sa.Boolean):
                value = f"bool({value})"
            if attribute in self.decode:
                names[f"d_{attribute}"] = self.decode[attribute]
                value = f"d_{attribute}({value})"
            arguments.append((attribute, value))
        fields = getattr(self.record, "_fields", None)
        if fields is not None:  # a NamedTuple: built positionally in C, defaults filled in
            given = dict(arguments)
            values = []
            for i, attribute in enumerate(fields):
                if attribute in given:
                    values.append(given[attribute])
                else:
                    names[f"default{i}"] = self.record._field_defaults[attribute]
                    values.append(f"default{i}")
            names["new"] = tuple.__new__
            body = f"new(Record, ({', '.join(values)},))"
        else:
            body = f"Record({', '.join(f'{a}={v}' for a, v in arguments)})"
        source = f"def make(r):\n    return {body}\n"
        return _compile(source, names, "make")


def _compile(source: str, names: dict[str, Any], function: str) -> Callable[..., Any]:
    namespace = dict(names)
    exec(source, namespace)  # generated from the mapping's own column names only
    return namespace[function]  # type: ignore[no-any-return]


# --- conversions --------------------------------------------------------------------------------

_SIDES = {side.value: side for side in Aggressor}


def _side_value(side: Aggressor | None) -> str | None:
    return None if side is None else side.value


def _trade_event_key(trade: Trade, seen: dict[Any, int]) -> str:
    """The vendor trade id, else the content hash; a trade identical to an earlier one at the
    same instant in the same call gets ``#2``, ``#3`` ... (both are real prints)."""
    if trade.trade_id:
        return f"id:{trade.trade_id}"
    side = None if trade.side is None else trade.side.value
    content = content_key(
        trade.price, trade.volume, side, trade.trading_session, trade.total_volume,
        trade.total_value,
    )  # fmt: skip
    marker = (trade.symbol, trade.ts_event, trade.source, content)
    count = seen.get(marker, 0) + 1
    seen[marker] = count
    return content if count == 1 else f"{content}#{count}"


def _levels(levels: tuple[tuple[float, float], ...]) -> list[list[float]]:
    return [list(level) for level in levels]


def _level_tuples(levels: Any) -> tuple[tuple[float, float], ...]:
    return tuple((float(price), float(size)) for price, size in levels or ())


def _iso_times(times: tuple[datetime, ...]) -> list[str]:
    return [aware(ts, "QualityResult.missing").isoformat() for ts in times]


def _times(values: Any) -> tuple[datetime, ...]:
    return tuple(datetime.fromisoformat(m) for m in values or ())


def _minute_column(minute: int | None) -> int:
    return tables.DAILY_MINUTE if minute is None else minute


def _minute_field(minute: int) -> int | None:
    return None if minute == tables.DAILY_MINUTE else minute


def _plain_dict(value: Any) -> dict[str, Any]:
    return dict(value) if value else {}


def _dict_or_empty(value: Any) -> dict[str, Any]:
    """A decoded JSON object column (a fresh dict already), ``{}`` for NULL."""
    return value if value else {}


def _by_content(*names: str) -> Computed:
    """``event_key`` = a hash of the named fields (events sharing a timestamp stay apart)."""

    def key(record: Any, _state: dict[Any, Any]) -> str:
        return content_key(*(getattr(record, name) for name in names))

    return key


def _nulls_last(name: str) -> Callable[[sa.Table], Any]:
    return lambda table: table.c[name].asc().nulls_last()


# --- the mappings -------------------------------------------------------------------------------

_TS = {"ts_event": "ts"}
_EVENT_KEY = ("symbol", "ts", "event_key", "source")

BARS = RecordMapping(
    Bar,
    tables.BarRow,
    key=("symbol", "interval", "ts", "source"),
    read_order=("ts", "symbol", "source"),
    renamed=_TS,
)
TRADES = RecordMapping(
    Trade,
    tables.TradeRow,
    key=_EVENT_KEY,
    read_order=(
        "ts",
        "symbol",
        _nulls_last("total_volume"),
        _nulls_last("ts_received"),
        "event_key",
    ),  # fmt: skip
    renamed=_TS,
    computed={"event_key": _trade_event_key},
    encode={"side": _side_value},
    decode={"side": _SIDES.get},
)
QUOTES = RecordMapping(
    Quote,
    tables.QuoteRow,
    key=_EVENT_KEY,
    read_order=("ts", "symbol", _nulls_last("ts_received"), "event_key"),
    renamed=_TS,
    computed={
        "event_key": _by_content(
            "bid_price", "bid_size", "ask_price", "ask_size", "bids", "asks", "trading_session"
        )
    },
    encode={"bids": _levels, "asks": _levels},
    decode={"bids": _level_tuples, "asks": _level_tuples},
)
FOREIGN_ROOM = RecordMapping(
    ForeignRoom,
    tables.ForeignRoomRow,
    key=_EVENT_KEY,
    read_order=(
        "ts",
        "symbol",
        lambda table: table.c.buy_volume + table.c.sell_volume,
        _nulls_last("ts_received"),
        "event_key",
    ),
    renamed=_TS,
    computed={
        "event_key": _by_content(
            "buy_volume", "sell_volume", "buy_value", "sell_value", "total_room", "current_room"
        )
    },
)
INDEX_TICKS = RecordMapping(
    IndexTick,
    tables.IndexTickRow,
    key=_EVENT_KEY,
    read_order=(
        "ts",
        "symbol",
        _nulls_last("total_volume"),
        _nulls_last("ts_received"),
        "event_key",
    ),  # fmt: skip
    renamed={"ts_event": "ts", "index_id": "symbol"},
    computed={
        "event_key": _by_content(
            "value",
            "prior_value",
            "change",
            "ratio_change",
            "total_volume",
            "total_value",
            "advances",
            "declines",
            "no_changes",
            "ceilings",
            "floors",
            "trading_session",
        )  # fmt: skip
    },
)
STATUSES = RecordMapping(
    SecurityStatus,
    tables.SecurityStatusRow,
    key=_EVENT_KEY,
    read_order=("ts", "symbol", _nulls_last("ts_received"), "event_key"),
    renamed=_TS,
    computed={"event_key": _by_content("trading_status", "trading_session", "exchange")},
)
INDICATOR_VALUES = RecordMapping(
    IndicatorValue,
    tables.IndicatorValueRow,
    key=("name", "symbol", "as_of", "minute_of_day", "source"),
    read_order=("as_of", "symbol", "minute_of_day", "source"),
    parameters=("source",),
    encode={"minute_of_day": _minute_column, "details": _plain_dict, "complete": bool},
    decode={"minute_of_day": _minute_field, "details": _dict_or_empty},
)
QUALITY = RecordMapping(
    QualityResult,
    tables.QualityResultRow,
    key=("symbol", "interval", "trading_date", "source"),
    read_order=("trading_date", "symbol", "interval", "source"),
    encode={"missing": _iso_times},
    decode={"missing": _times},
)
PHASE_VOLUMES = RecordMapping(
    PhaseVolume,
    tables.PhaseVolumeRow,
    key=("session_name", "symbol", "trading_date", "phase"),
    read_order=("trading_date", "symbol", "phase", "session_name"),
)

SESSION_RUNS = RecordMapping(
    SessionRun,
    tables.SessionRunRow,
    key=("id",),
    read_order=(lambda table: table.c.id.desc(),),
    decode={"metrics": _dict_or_empty},
)
"""Session runs are inserted and finished by ``Store``'s own statements (the database assigns
the id); the mapping serves their reads."""

__all__ = [
    "SESSION_RUNS",
    "BARS",
    "FOREIGN_ROOM",
    "INDEX_TICKS",
    "INDICATOR_VALUES",
    "PHASE_VOLUMES",
    "QUALITY",
    "QUOTES",
    "STATUSES",
    "TRADES",
    "RecordMapping",
]
