"""SSI FastConnect streaming ``Content`` objects, as the reference (§2) shows them, and steps
of the fake server's scripts (``daemon.demo.ssi_server``): what the demo's day and the tests of
the live path broadcast. Days are ``dd/mm/yyyy``, times ``HH:MM:SS`` exchange-local, as SSI
sends them.
"""

from __future__ import annotations

from typing import Any


def trade(
    symbol: str,
    day: str,
    at: str,
    price: float,
    last_vol: float,
    total_vol: float,
    side: str,
    session: str = "LO",
) -> dict[str, Any]:
    """An X-TRADE Content (``day`` dd/mm/yyyy, ``at`` HH:MM:SS local)."""
    return {
        "RType": "X-TRADE",
        "TradingDate": day,
        "Time": at,
        "Isin": symbol,
        "Symbol": symbol,
        "LastPrice": price,
        "LastVol": last_vol,
        "TotalVol": total_vol,
        "TotalVal": price * total_vol,
        "MarketId": "HOSE",
        "Exchange": "HOSE",
        "TradingSession": session,
        "TradingStatus": "N",
        "Side": side,
    }


def quote(symbol: str, day: str, at: str, bid: float, ask: float) -> dict[str, Any]:
    """An X-QUOTE Content with three levels (HOSE) around ``bid``/``ask``."""
    content: dict[str, Any] = {
        "RType": "X-QUOTE",
        "TradingDate": day,
        "Time": at,
        "Symbol": symbol,
        "Exchange": "HOSE",
        "TradingSession": "LO",
    }
    for level in range(1, 11):
        inside = level <= 3
        content[f"BidPrice{level}"] = bid - 50 * (level - 1) if inside else 0.0
        content[f"BidVol{level}"] = 1000.0 * level if inside else 0.0
        content[f"AskPrice{level}"] = ask + 50 * (level - 1) if inside else 0.0
        content[f"AskVol{level}"] = 1000.0 * level if inside else 0.0
    return content


def futures(
    symbol: str, day: str, at: str, price: float, last_vol: float, total_vol: float
) -> dict[str, Any]:
    """An X (trade + quote) Content of a derivatives contract."""
    content: dict[str, Any] = {
        "RType": "X",
        "TradingDate": day,
        "Time": at,
        "Symbol": symbol,
        "LastPrice": price,
        "LastVol": last_vol,
        "TotalVol": total_vol,
        "TotalVal": price * total_vol * 100_000,
        "MarketId": "DER",
        "Exchange": "DER",
        "TradingSession": "LO",
        "Side": "BU",
    }
    for level in range(1, 11):
        content[f"BidPrice{level}"] = price - 0.1 * level
        content[f"BidVol{level}"] = 10.0 * level
        content[f"AskPrice{level}"] = price + 0.1 * level
        content[f"AskVol{level}"] = 10.0 * level
    return content


def index(index_id: str, day: str, at: str, value: float, prior: float) -> dict[str, Any]:
    return {
        "RType": "MI",
        "IndexId": index_id,
        "IndexName": index_id,
        "TradingDate": day,
        "Time": at,
        "IndexValue": value,
        "PriorIndexValue": prior,
        "Change": round(value - prior, 2),
        "RatioChange": round(100 * (value / prior - 1), 2),
        "TotalQtty": 1_000_000.0,
        "TotalValue": 3.0e10,
        "Advances": 18,
        "Declines": 9,
        "NoChanges": 3,
        "Ceilings": 0,
        "Floors": 0,
        "TradingSession": None,
        "Exchange": "HOSE",
    }


def foreign(
    symbol: str, day: str, at: str, buy_vol: float, sell_vol: float, buy_val: float, sell_val: float
) -> dict[str, Any]:
    return {
        "RType": "R",
        "TradingDate": day,
        "Time": at,
        "Isin": symbol,
        "Symbol": symbol,
        "TotalRoom": 2_000_000_000.0,
        "CurrentRoom": 1_000_000_000.0 - buy_vol + sell_vol,
        "BuyVol": buy_vol,
        "SellVol": sell_vol,
        "BuyVal": buy_val,
        "SellVal": sell_val,
        "MarketId": "HOSE",
        "Exchange": "HOSE",
    }


def status(symbol: str, day: str, at: str, session: str) -> dict[str, Any]:
    return {
        "RType": "F",
        "MarketId": "HOSE",
        "TradingDate": day,
        "Time": at,
        "Symbol": symbol,
        "TradingSession": session,
        "TradingStatus": "N",
        "Exchange": "HOSE",
    }


def steps(kind: str, items: list[dict[str, Any]], pause: float = 0.0) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for item in items:
        out.append(("broadcast", kind, item))
        if pause:
            out.append(("sleep", pause))
    return out
