"""Vietnam live: the order-flow strategy trades through the local simulated broker on the live
SSI feed (``sessiond run`` against the loopback fake SSI server, the scripted day of the live
tests): the active buying of 09:20 triggers a market buy, filled at the next trade's price,
stored as it happens, and the run's summary carries the trading results."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from core.store import Store
from daemon.demo.ssi_server import FakeSsiServer
from daemon.trading.ledger import TradingLedger
from tests.daemon.vn_live_support import CLOCK_START, LiveDaemon, scripted_day

pytestmark = pytest.mark.slow


def test_the_vn_order_flow_strategy_trades_on_the_live_ssi_feed(tmp_path: Path) -> None:
    config = {
        "session_name": "vn_live_trading",
        "exchange_group": "HOSE",
        "mode": "live",
        "session_data_config": {
            "symbols": ["ACB", "FPT"],
            "streams": ["1m", "trades", "quotes"],
            "classifiers": ["vendor_side", "quote_rule", "tick_rule"],
        },
        "strategy": {
            "type": "vn_order_flow",
            "params": {
                "window_minutes": 1,
                "threshold": 0.6,
                "min_active_volume": 1000,
                "sustain_minutes": 1,
                "quantity": 100,
            },
        },
        "trading_config": {"starting_cash": 100_000_000},
        "api_config": {"data_api": "ssi", "trade_api": "simulated"},
    }
    path = tmp_path / "vn_live_trading.json"
    path.write_text(json.dumps(config))
    db_url = f"sqlite:///{tmp_path / 'live.db'}"
    fake = FakeSsiServer(keepalive_interval=0.1).start()
    fake.scripts.update(scripted_day())
    daemon = LiveDaemon(fake, db_url, tmp_path, CLOCK_START, config=path)
    try:
        daemon.wait_ready()
        with Store.from_url(db_url) as store:
            ledger = TradingLedger(store)

            def filled() -> bool:
                runs = store.read_session_runs()
                return bool(runs) and any(r.status == "filled" for r in ledger.orders(runs[0].id))

            daemon.wait_until(filled, timeout=90)
    finally:
        code = daemon.stop()
        fake.stop()
    assert code == 0, daemon.stderr()
    with Store.from_url(db_url) as store:
        (run,) = store.read_session_runs()
        ledger = TradingLedger(store)
        (order,) = ledger.orders(run.id)
        (fill,) = ledger.fills(run.id)
    # 09:20: 2,000 shares of active buying in one minute; the 09:21 trade closes that minute
    assert (order.symbol, order.side, order.order_type, order.quantity) == (
        "ACB",
        "buy",
        "market",
        100,
    )
    assert order.status == "filled" and order.broker_order_id is None
    assert (fill.quantity, fill.price) == (100, Decimal("23000"))  # the 09:22 trade after it
    assert fill.commission == Decimal("3450") and fill.tax == 0  # 0.15 % of 2,300,000
    summary = json.loads(daemon.stdout())
    assert summary["trading"]["fills"] == 1 and summary["trading"]["broker"] == "simulated"
