"""Trading inside a session run: orders and pre-trade checks, portfolio and accounting in
``Decimal``, the engine that drives a strategy and a broker from market events, the ledger
that stores it all, and the run's statistics.

``engine.TradingEngine`` is the entry point (a stream subscriber); see ``docs/strategies.md``.
"""
