"""Raw SignalR frames -> core models, shared by the live stream and frame replays.

``FrameDecoder`` turns one server text frame into the events it carries: keep-alives,
init and invocation results are counted and dropped, hub errors counted and logged,
Broadcast payloads decoded (``parse.py``), de-duplicated by content (the hash of the exact
``Content`` text over a sliding window) and demuxed. A malformed frame or message is counted,
logged with a short scrubbed excerpt and skipped.

``FrameJournal`` appends every frame a stream receives to a file (one JSON line
``[channel, frame]`` each, in arrival order); ``replay_journal`` feeds such a file through a
fresh ``FrameDecoder``: the same parsers on the same bytes, hence the same events as live
(``ts_received`` None). The benchmark can run over a journal (``--frames``).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from core.models import replace
from plugins.sources.ssi import parse
from plugins.sources.ssi.redaction import REDACTOR, redacted_logger

log = redacted_logger(__name__)


@dataclass
class StreamStats:
    """Counters of one stream (all links) or one replay."""

    frames: int = 0
    keepalives: int = 0
    messages: int = 0
    events: int = 0
    duplicates: int = 0
    malformed: int = 0
    server_errors: int = 0
    handler_errors: int = 0
    connects: int = 0
    reconnects: int = 0
    silences: int = 0
    token_refreshes: int = 0
    auth_failures: int = 0
    backoff_delays: list[float] = field(default_factory=list)


class FrameDecoder:
    """One server frame -> core models (see module doc). Not thread-safe; one per stream."""

    def __init__(
        self,
        stats: StreamStats | None = None,
        *,
        default_trading_date: str | None = None,
        dedupe_window: int = 50_000,
    ) -> None:
        self.stats = stats if stats is not None else StreamStats()
        self.default_trading_date = default_trading_date
        """``dd/mm/yyyy`` for messages without a date (B); follows the last date seen."""
        self._seen: set[int] = set()  # hashes of Content texts: 50k ints, not 50 MB of text
        self._seen_order: deque[int] = deque()
        self._dedupe_window = dedupe_window

    def decode(
        self, channel: str, text: str | bytes, ts_received: datetime | None = None
    ) -> list[Any]:
        stats = self.stats
        stats.frames += 1
        try:
            frame = parse.decode_frame(text)
        except parse.MalformedMessageError as error:
            self._malformed(channel, error, text)
            return []
        if frame.kind == "keepalive":
            stats.keepalives += 1
            return []
        for message in frame.errors:
            stats.server_errors += 1
            log.warning("SSI stream %s: server error %r", channel, REDACTOR.scrub(message)[:200])
        out: list[Any] = []
        for payload in frame.payloads:
            stats.messages += 1
            try:
                key, content = parse.decode_payload(payload)
                key_hash = hash(key)
                if key_hash in self._seen:
                    stats.duplicates += 1
                    continue
                trading_date = content.get("TradingDate")
                if trading_date and type(trading_date) is str:
                    self.default_trading_date = trading_date
                events = parse.parse_content(content, ts_received, self.default_trading_date)
            except Exception as error:  # noqa: BLE001 - one bad message never stops the stream
                self._malformed(channel, error, payload)
                continue
            self._remember(key_hash)
            out.extend(events)
        return out

    def _remember(self, key: int) -> None:
        self._seen.add(key)
        self._seen_order.append(key)
        if len(self._seen_order) > self._dedupe_window:
            self._seen.discard(self._seen_order.popleft())

    def _malformed(self, channel: str, error: BaseException, raw: Any) -> None:
        self.stats.malformed += 1
        excerpt = raw if isinstance(raw, str) else repr(raw)
        log.warning(
            "SSI stream %s: skipped a malformed frame (%s: %s): %r",
            channel,
            type(error).__name__,
            REDACTOR.scrub(str(error))[:120],
            REDACTOR.scrub(excerpt[:120]),
        )


class FrameJournal:
    """Appends ``[channel, frame]`` JSON lines to ``path`` (a stream's ``frame_sink``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = self.path.open("a", encoding="utf-8")
        self.frames = 0

    def __call__(self, channel: str, text: str | bytes) -> None:
        if self._file is None:
            return
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self._file.write(json.dumps([channel, text], ensure_ascii=False) + "\n")
        self.frames += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_journal(path: str | Path) -> Iterator[tuple[str, str]]:
    """The ``(channel, frame)`` pairs of a journal, in arrival order."""
    with Path(path).open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                channel, text = json.loads(line)
                yield channel, text


def replay_journal(
    path: str | Path,
    *,
    default_trading_date: str | None = None,
    symbol_map: dict[str, str] | None = None,
    transform: Callable[[Any], Iterable[Any]] | None = None,
) -> list[Any]:
    """Every event a journal's frames carry, through the live stream's decoder, symbol map
    and transform (pass the ones the live stream had to get its exact sequence)."""
    decoder = FrameDecoder(default_trading_date=default_trading_date)
    events: list[Any] = []
    for channel, text in read_journal(path):
        for event in decoder.decode(channel, text):
            if symbol_map:
                mapped = symbol_map.get(getattr(event, "symbol", None))  # type: ignore[arg-type]
                if mapped is not None and mapped != event.symbol:
                    event = replace(event, symbol=mapped)
            events.extend(transform(event) if transform is not None else (event,))
    return events
