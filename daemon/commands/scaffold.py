"""``sessiond plugins new NAME --kind source|classifier|indicator|strategy``: a plugin package
that installs with pip, registers through the ``sessiond`` entry point and passes the
conformance kit (``plugins.testing``) as generated.

The layout is that of ``examples/sessiond-vn-extras``::

    sessiond-<name>/pyproject.toml            entry point  <name> = "sessiond_<name>.plugin"
    sessiond-<name>/README.md
    sessiond-<name>/src/sessiond_<name>/__init__.py
    sessiond-<name>/src/sessiond_<name>/plugin.py     the class and its @hookimpl
    sessiond-<name>/tests/test_sessiond_<name>.py     the kit's checks, entry-point discovery

A strategy (``--kind strategy``) is a template in the spirit of docs/strategies.md: it buys a
fixed quantity after ``rising`` closes in a row and sells after as many falling ones.
"""

from __future__ import annotations

import keyword
import re
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from core.errors import SessiondError

console = Console(soft_wrap=True)
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


class PluginKind(StrEnum):
    source = "source"
    classifier = "classifier"
    indicator = "indicator"
    strategy = "strategy"


_PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "{title} for sessiond"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["sessiond"]

[project.entry-points.sessiond]
{name} = "{module}.plugin"

[tool.setuptools.packages.find]
where = ["src"]
"""

_README = """\
# {dist}

{title} for [sessiond](https://pypi.org/project/sessiond/), registered as `{name}`.

```
pip install -e .            # sessiond finds it through the `sessiond` entry point
sessiond plugins            # lists {name}
python -m pytest tests      # the conformance kit (plugins.testing) and discovery
```

{usage}
"""

_CLASSES = {
    PluginKind.source: (
        "Source",
        "register_data_sources",
        "A data source",
        '''\
import datetime as dt
from collections.abc import Iterator, Sequence

from core.calendars import session_minutes, sessions_in_range
from core.models import Bar
from core.timeframes import parse_interval


class {cls}:
    """One-minute bars at ``price`` on every trading minute of the exchange (replace
    ``request_bars`` with your data's reader; keep the bars UTC and inside [start, end))."""

    name = "{name}"
    description = "Constant-price 1-minute bars on the exchange's trading minutes"

    def __init__(self, exchange: str, price: float = 100.0) -> None:
        self.exchange = exchange
        self.price = price

    def request_bars(
        self, symbols: Sequence[str], start: dt.datetime, end: dt.datetime, interval: str
    ) -> Iterator[Bar]:
        if parse_interval(interval).label != "1m":
            raise ValueError(f"{name} has 1m bars only, not {{interval!r}}")
        days = sessions_in_range(self.exchange, start.date() - dt.timedelta(days=1), end.date())
        for symbol in symbols:
            for day in days:
                for ts in session_minutes(self.exchange, day):
                    if start <= ts < end:
                        p = self.price
                        yield Bar(symbol, "1m", ts, p, p, p, p, 100.0, 1, p, self.name)
''',
        """\
    bars = check_data_source(
        {cls}, exchange="XSTC", symbols=["ACB"], options={{"price": 25_000.0}}
    )
    assert len(bars) == 255  # 09:00-11:30 and 13:00-14:45 in Ho Chi Minh City""",
        'Use it in a session config: `"api_config": {{"data_api": "{name}"}}`.',
    ),
    PluginKind.classifier: (
        "Classifier",
        "register_trade_classifiers",
        "A trade classifier",
        '''\
from core.models import Aggressor, Trade


class {cls}:
    """Tick test: a trade above the previous price is a buy, below a sell, equal passes."""

    name = "{name}"
    description = "Up-tick buys, down-tick sells, zero ticks pass"

    def __init__(self) -> None:
        self.last: float | None = None

    def reset(self) -> None:
        self.last = None

    def classify(self, trade: Trade) -> Aggressor | None:
        previous, self.last = self.last, trade.price
        if previous is None or trade.price == previous:
            return None
        return Aggressor.BUY if trade.price > previous else Aggressor.SELL
''',
        """\
    answers = check_trade_classifier({cls})
    assert any(answer is not None for answer in answers)""",
        'Use it in a session config: `"session_data_config": {{"classifiers": ["{name}", '
        '"tick_rule"]}}`.',
    ),
    PluginKind.indicator: (
        "Indicator",
        "register_indicators",
        "An indicator",
        '''\
import datetime as dt
from collections import deque
from collections.abc import Sequence

from core.models import Bar, IndicatorValue


class {cls}:
    """Mean close of the last ``period`` bars, of kind ``"both"``: ``compute`` gives it from a
    history (``granularity`` daily or intraday), ``update`` streams it (``bar``: what it
    returns for the day's last bar is what sessiond stores)."""

    name = "{name}"
    kind = "both"
    description = "Mean close of the last N bars"

    def __init__(self, name: str, period: int = 20) -> None:
        if period < 1:
            raise ValueError(f"indicator {{name!r}}: period must be >= 1, was {{period}}")
        self.instance_name = name
        self.period = period
        self.reset()

    def reset(self) -> None:
        self.closes: deque[float] = deque(maxlen=self.period)

    def update(self, bar: Bar) -> float | None:
        self.closes.append(bar.close)
        return sum(self.closes) / self.period if len(self.closes) == self.period else None

    def compute(
        self, symbol: str, history: Sequence[Bar], as_of: dt.datetime
    ) -> list[IndicatorValue]:
        closes = [b.close for b in history if b.symbol == symbol][-self.period :]
        full = len(closes) == self.period
        value = sum(closes) / self.period if full else None
        return [IndicatorValue(self.instance_name, symbol, as_of, value, full, len(closes))]
''',
        """\
    out = check_indicator({cls}, params={{"period": 5}})
    assert out["update"][4] is not None and out["compute"][0].value is not None""",
        'Use it in a session config: `"historical": {{"indicators": {{"my_{name}": '
        '{{"type": "{name}", "granularity": "daily", "period": 20}}}}}}` (`"bar"`: '
        "streamed).",
    ),
}

_STRATEGY = (
    "Strategy",
    "register_strategies",
    "A strategy",
    '''\
from typing import Any

from core.orders import OrderRequest


class {cls}:
    """Buys ``quantity`` shares after ``rising`` higher closes in a row, sells what it holds
    (what is sellable) after as many lower closes: replace ``on_bar`` with your signal."""

    name = "{name}"
    description = "Buys after N rising closes, sells after N falling closes"

    def __init__(self, rising: int = 3, quantity: int = 100, interval: str = "1m") -> None:
        if rising < 1 or quantity < 1:
            raise ValueError(f"rising and quantity must be >= 1, were {{rising}}, {{quantity}}")
        self.rising = rising
        self.quantity = quantity
        self.intervals = (interval,)
        self.ctx: Any = None
        self.last: dict[str, float] = {{}}
        self.streak: dict[str, int] = {{}}

    def on_start(self, ctx: Any) -> None:
        self.ctx = ctx  # the clock, the portfolio, order entry: docs/strategies.md

    def on_bar(self, bar: Any) -> None:
        previous = self.last.get(bar.symbol)
        self.last[bar.symbol] = bar.close
        if previous is None or bar.close == previous:
            return
        step = 1 if bar.close > previous else -1
        streak = self.streak.get(bar.symbol, 0)
        streak = streak + step if streak * step > 0 else step
        self.streak[bar.symbol] = streak
        ctx = self.ctx
        if ctx.open_orders(bar.symbol):
            return
        held = ctx.portfolio.quantity(bar.symbol)
        if streak >= self.rising and held == 0:
            ctx.submit(OrderRequest.market(bar.symbol, "buy", self.quantity))
        elif streak <= -self.rising and held > 0:
            sellable = ctx.portfolio.position(bar.symbol).sellable
            if sellable:
                ctx.submit(OrderRequest.market(bar.symbol, "sell", sellable))
''',
    """\
    orders = check_strategy({cls}, params={{"rising": 3, "quantity": 10}})
    assert orders and all(o.side.value == "buy" for o in orders)""",
    'Use it in a session config: `"strategy": {{"type": "{name}", "params": {{"rising": 3}}}}`.',
)
_CLASSES[PluginKind.strategy] = _STRATEGY

_PLUGIN = '''\
"""The module the ``sessiond`` entry point names: {title_lower} and its hook."""

from __future__ import annotations

{imports}
from plugins import hookimpl


{body}

@hookimpl
def {hook}() -> list[type]:
    return [{cls}]
'''

_TEST = '''\
"""{title} {name!r}: sessiond's conformance kit and entry-point discovery."""

from __future__ import annotations

from plugins.manager import load_plugins
from plugins.testing import {check}, check_plugin
from {module} import plugin
from {module}.plugin import {cls}


def test_it_passes_the_conformance_kit() -> None:
{kit}


def test_the_plugin_module_loads_next_to_the_builtins() -> None:
    check_plugin(plugin)


def test_the_installed_entry_point_registers_it() -> None:
    host = load_plugins()
    assert host.{registry}["{name}"] is {cls}
    assert host.distribution_of("{registry}", "{name}") == "{dist}"
'''

_CHECKS = {
    PluginKind.source: ("check_data_source", "data_sources"),
    PluginKind.classifier: ("check_trade_classifier", "classifiers"),
    PluginKind.indicator: ("check_indicator", "indicators"),
    PluginKind.strategy: ("check_strategy", "strategies"),
}


def _split(code: str) -> tuple[str, str]:
    """(import lines, the rest) of a class template."""
    lines = code.splitlines()
    cut = next(i for i, line in enumerate(lines) if line.startswith("class "))
    return "\n".join(lines[:cut]).strip(), "\n".join(lines[cut:]).rstrip() + "\n"


def scaffold(name: str, kind: PluginKind, directory: Path) -> Path:
    """Write the package for plugin ``name`` of ``kind`` under ``directory``; returns its
    folder. SessiondError for a bad name or an existing folder."""
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise SessiondError(
            f"NAME {name[:40]!r} is not a plugin name: lower-case letters, digits and _, "
            "starting with a letter (e.g. my_source)"
        )
    dist = "sessiond-" + name.replace("_", "-")
    module = "sessiond_" + name
    suffix, hook, title, code, kit, usage = _CLASSES[kind]
    cls = "".join(part.capitalize() for part in name.split("_")) + suffix
    root = directory / dist
    if root.exists():
        raise SessiondError(f"{root} already exists: pick another NAME or --directory")
    fields = {"name": name, "cls": cls, "dist": dist, "module": module, "title": title}
    imports, body = _split(code.format(**fields))
    check, registry = _CHECKS[kind]
    files = {
        "pyproject.toml": _PYPROJECT.format(**fields),
        "README.md": _README.format(**fields, usage=usage.format(**fields)),
        f"src/{module}/__init__.py": f'"""{title} for sessiond: see plugin.py."""\n',
        f"src/{module}/plugin.py": _PLUGIN.format(
            title_lower=title.lower(), imports=imports, body=body, hook=hook, cls=cls
        ),
        f"tests/test_{module}.py": _TEST.format(
            **fields, check=check, registry=registry, kit=kit.format(**fields)
        ),
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def plugins_new(
    name: str = typer.Argument(
        ..., help="Plugin name, as session configs will name it (e.g. my_source)."
    ),
    kind: PluginKind = typer.Option(
        ..., "--kind", help="What it registers: source, classifier, indicator or strategy."
    ),
    directory: Path = typer.Option(
        Path("."), "--directory", help="Where to create the package folder."
    ),
) -> None:
    """Create a plugin package (pyproject with the sessiond entry point, the class, tests on
    the conformance kit) that installs with pip and passes its tests as generated."""
    root = scaffold(name, kind, directory)
    console.print(
        f"created {root}; next: pip install -e {root} && python -m pytest {root / 'tests'}",
        highlight=False,
    )


def register(plugins_app: typer.Typer) -> None:
    plugins_app.command("new")(plugins_new)
