"""``SsiSource``: the SSI FastConnect data source in sessiond's terms (core models, UTC).

Historical: ``request_bars`` (``1m`` from IntradayOhlc, ``1d`` from DailyOhlc, 5m..1h
resampled from one-minute bars), ``vn30_components()`` (the default watchlist),
``securities()``, ``daily_index()``, ``daily_stock_price()``. Live: ``subscribe(symbols,
channels)`` returns an ``SsiStream`` (async iterator of core models with ``stop()``).

Options (session config ``api_config.data_api_options`` or keyword arguments) override the
``SSI_*`` settings by field name (``keepalive_timeout_seconds=5`` ...); credentials and URLs
are read on first network use, never in the constructor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from core.errors import SourceError
from core.models import Bar, ForeignRoom, IndexTick, Quote, SecurityStatus, Trade
from core.timeframes import SUPPORTED_INTERVALS, parse_interval
from plugins.sources.ssi import futures, parse
from plugins.sources.ssi.bars import MinuteBarBuilder

if TYPE_CHECKING:  # ssi-fc-data, requests, httpx, websockets, pydantic-settings: on first use
    from plugins.sources.ssi.client import SsiRestClient
    from plugins.sources.ssi.settings import SsiSettings
    from plugins.sources.ssi.stream import SsiStream

GENERIC_CHANNELS = {
    "trades": "X-TRADE",
    "quotes": "X-QUOTE",
    "foreign": "R",
    "index": "MI",
    "status": "F",
}
"""sessiond channel names -> SSI channel types (``bars`` is built from trades, see bars.py)."""
BAR_CHANNELS = ("bars", "1m")
"""Channel names asking for one-minute bars (built from X-TRADE / X trades)."""
_KIND_OF_CHANNEL = {
    "trades": Trade,
    "quotes": Quote,
    "foreign": ForeignRoom,
    "index": IndexTick,
    "status": SecurityStatus,
}
SSI_CHANNEL_TYPES = ("X-TRADE", "X-QUOTE", "X", "R", "MI", "B", "F", "OL")
DEFAULT_INDEXES = ("VN30", "VNINDEX")


def channel_strings(
    symbols: Sequence[str], channels: Sequence[str], index_ids: Sequence[str] = DEFAULT_INDEXES
) -> list[str]:
    """Build SSI channel strings (``X-TRADE:ACB-SSI``) from symbols and channel names.

    ``channels`` may hold sessiond names (``trades``, ``quotes``, ``foreign``, ``index``,
    ``status``, ``bars``), SSI types (``X-TRADE``, ``X`` ...) applied to ``symbols``, or full
    SSI channel strings (``MI:VN30``, ``X:VN30F2602``) used as given. VN30 futures among the
    symbols get the combined ``X`` channel when trades or quotes are asked for; ``index``
    uses ``index_ids``.
    """
    stocks = [s for s in symbols if not futures.is_vn30_futures(s)]
    contracts = [s for s in symbols if futures.is_vn30_futures(s)]
    by_type: dict[str, list[str]] = {}
    explicit: list[str] = []
    for channel in channels:
        name = channel.strip()
        if ":" in name:
            kind, _, rest = name.partition(":")
            explicit.append(f"{kind.upper()}:{rest}")
            continue
        kind = GENERIC_CHANNELS.get(name.lower(), name.upper())
        if kind not in SSI_CHANNEL_TYPES:
            raise SourceError(
                f"unknown SSI channel {channel!r} (expected one of "
                f"{', '.join(GENERIC_CHANNELS)} or an SSI type {', '.join(SSI_CHANNEL_TYPES)})"
            )
        if kind == "MI":
            targets = list(index_ids)
        elif kind in ("X-TRADE", "X-QUOTE"):
            targets = stocks
        else:
            targets = list(symbols)
        by_type.setdefault(kind, []).extend(targets)
        if kind in ("X-TRADE", "X-QUOTE") and contracts:
            by_type.setdefault("X", []).extend(contracts)
    out = [
        f"{kind}:{'-'.join(dict.fromkeys(targets))}" for kind, targets in by_type.items() if targets
    ]
    return list(dict.fromkeys(out + explicit))


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise SourceError(
            f"{name} {value.isoformat()} has no time zone; pass an aware UTC datetime"
        )
    return value.astimezone(UTC)


def resample(bars: Sequence[Bar], interval: str) -> list[Bar]:
    """One-minute bars of one symbol (ordered) -> ``interval`` bars aligned to the UTC epoch
    (exchange-local hours are whole-hour offsets, so 5m..1h buckets align locally too)."""
    seconds = parse_interval(interval).seconds
    out: list[Bar] = []
    current: list[Bar] = []
    bucket_start: datetime | None = None
    for bar in bars:
        epoch = int(bar.ts_event.timestamp())
        start = datetime.fromtimestamp(epoch - epoch % seconds, UTC)
        if bucket_start is not None and (start != bucket_start or bar.symbol != current[0].symbol):
            out.append(_merge(current, interval, bucket_start))
            current = []
        bucket_start = start
        current.append(bar)
    if current and bucket_start is not None:
        out.append(_merge(current, interval, bucket_start))
    return out


def _merge(bars: list[Bar], interval: str, start: datetime) -> Bar:
    return Bar(
        bars[0].symbol,
        interval,
        start,
        bars[0].open,
        max(b.high for b in bars),
        min(b.low for b in bars),
        bars[-1].close,
        sum(b.volume for b in bars),
        source=bars[0].source,
    )


class SsiSource:
    """SSI FastConnect Data (Vietnam): historical REST and the live SignalR stream."""

    name: ClassVar[str] = "ssi"
    description: ClassVar[str] = (
        "SSI FastConnect Data (HOSE/HNX/UPCoM/VN30 futures): REST history and live stream"
    )

    default_classifiers: ClassVar[tuple[str, ...]] = ("vendor_side", "quote_rule", "tick_rule")
    """Trade classifier chain for SSI trades when the session config names none."""
    PRIMARY_FUTURES_ALIAS: ClassVar[str] = "VN30F1M"
    """Session symbol standing for the primary (front-month) VN30 futures contract."""

    def __init__(self, exchange: str = "XSTC", **options: Any) -> None:
        self.exchange = exchange
        self._options = options
        self._settings: SsiSettings | None = None
        self._client: SsiRestClient | None = None

    # ------------------------------------------------------------------ lazy plumbing
    @property
    def settings(self) -> SsiSettings:
        if self._settings is None:
            from plugins.sources.ssi.settings import SsiSettings, load_ssi_settings

            overrides = {k: v for k, v in self._options.items() if k in SsiSettings.model_fields}
            self._settings = load_ssi_settings(**overrides)
        return self._settings

    @property
    def client(self) -> SsiRestClient:
        if self._client is None:
            from plugins.sources.ssi.client import SsiRestClient

            self._client = SsiRestClient(self.settings)
        return self._client

    # ------------------------------------------------------------------ history
    def request_bars(
        self, symbols: Sequence[str], start: datetime, end: datetime, interval: str
    ) -> Iterator[Bar]:
        """Bars with ``start <= ts_event < end`` ordered by (symbol, ts_event)."""
        start_utc, end_utc = _utc(start, "start"), _utc(end, "end")
        spec = parse_interval(interval)
        if spec.seconds < 60:
            raise SourceError(f"SSI has no {interval} bars (smallest is 1m)")
        if end_utc <= start_utc:
            return
        first_day = parse.utc_to_local_date(start_utc)
        last_day = parse.utc_to_local_date(end_utc - timedelta(microseconds=1))
        for symbol in symbols:
            if spec.is_daily:
                bars = self.client.daily_ohlc(symbol, first_day, last_day)
            else:
                bars = self.client.intraday_ohlc(symbol, first_day, last_day)
            bars = sorted(
                (b for b in bars if start_utc <= b.ts_event < end_utc), key=lambda b: b.ts_event
            )
            if not spec.is_daily and spec.seconds > 60:
                bars = resample(bars, interval)
            yield from bars

    def vn30_components(self) -> list[str]:
        """The VN30 index's component symbols (the default watchlist)."""
        symbols = self.client.index_components("VN30")
        if not symbols:
            raise SourceError("SSI IndexComponents returned no VN30 components; try again later")
        return symbols

    def securities(self, market: str = "") -> list[parse.Security]:
        """Listed securities of ``market`` (HOSE, HNX, UPCOM, DER; empty = all)."""
        return self.client.securities(market)

    def daily_index(self, index_id: str, start: date, end: date) -> list[IndexTick]:
        """Daily index values (IndexTick per day, volumes = order matching) in [start, end]."""
        return self.client.daily_index(index_id, start, end)

    def daily_stock_price(self, symbol: str, start: date, end: date) -> list[parse.DailyStockPrice]:
        """DailyStockPrice rows (prices, totals, foreign flows) in [start, end]."""
        return self.client.daily_stock_price(symbol, start, end)

    def resolve_symbols(self, symbols: Sequence[str], day: date) -> list[str]:
        """Session symbols as traded on ``day``: ``VN30F1M`` becomes the primary contract's
        exchange code (``futures.primary_symbol(day)``, e.g. ``41I1G2000``); others unchanged."""
        alias = self.PRIMARY_FUTURES_ALIAS
        return [futures.primary_symbol(day) if s.upper() == alias else s for s in symbols]

    def futures_symbols(self, day: date) -> list[str]:
        """VN30 futures listed on ``day`` (front, next, two quarter months), exchange codes."""
        return futures.listed_symbols(day)

    # ------------------------------------------------------------------ live
    def subscribe(
        self,
        symbols: Sequence[str],
        channels: Sequence[str],
        *,
        clock: Callable[[], datetime] | None = None,
        trading_date: date | None = None,
        index_ids: Sequence[str] = DEFAULT_INDEXES,
        frame_sink: Callable[[str, str | bytes], Any] | None = None,
    ) -> SsiStream:
        """Live events of ``channels`` for ``symbols`` (see ``channel_strings``).

        ``bars`` (or ``1m``) gives one-minute ``Bar``s built from trades (``bars.py``). With
        sessiond's channel names only, just the kinds asked for are delivered (the ``X``
        channel of futures also carries quotes); SSI channel types or strings deliver
        everything their channels carry. ``clock`` stamps ``ts_received`` (the daemon passes its live clock); ``trading_date``
        dates B messages that carry only a time. Futures events are reported under the code
        the caller subscribed with, whichever of the two forms SSI sends. ``frame_sink``
        (e.g. ``frames.FrameJournal``) receives every raw frame in arrival order.
        """
        wanted = [c.strip() for c in channels]
        bars_wanted = any(c.lower() in BAR_CHANNELS for c in wanted)
        others = [c for c in wanted if c.lower() not in BAR_CHANNELS]
        unsupported = [c for c in others if c in SUPPORTED_INTERVALS]
        if unsupported:
            raise SourceError(
                f"SSI streams 1m bars only (built from trades), not {', '.join(unsupported)}; "
                "stream '1m' and let the session aggregate larger intervals"
            )
        generic_only = all(c.lower() in _KIND_OF_CHANNEL for c in others)
        source_channels = others + (["trades"] if bars_wanted and "trades" not in others else [])
        transform = None
        if bars_wanted or generic_only:
            kinds = tuple(
                {_KIND_OF_CHANNEL[c.lower()] for c in others if c.lower() in _KIND_OF_CHANNEL}
            )
            keep_all = not generic_only
            builder = MinuteBarBuilder(symbols) if bars_wanted else None

            def transform(event: Any) -> list[Any]:
                out: list[Any] = [event] if keep_all or isinstance(event, kinds) else []
                if builder is not None:
                    out.extend(builder.on_event(event))
                return out

        client = self.client

        async def token(force: bool) -> str:
            return await asyncio.to_thread(client.token, force)

        symbol_map: dict[str, str] = {}
        for symbol in symbols:
            if futures.is_vn30_futures(symbol):
                for alias in futures.aliases(symbol):
                    symbol_map[alias] = symbol
        from plugins.sources.ssi.stream import SsiStream

        return SsiStream(
            self.settings,
            channel_strings(symbols, source_channels, index_ids),
            token,
            clock=clock,
            default_trading_date=None if trading_date is None else parse.format_date(trading_date),
            symbol_map=symbol_map,
            transform=transform,
            frame_sink=frame_sink,
        )

    def close(self) -> None:
        self._client = None
