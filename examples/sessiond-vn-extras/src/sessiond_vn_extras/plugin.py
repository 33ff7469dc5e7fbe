"""The module the ``sessiond`` entry point names: one hook implementation per kind."""

from __future__ import annotations

from plugins import hookimpl
from sessiond_vn_extras.classifier import DepthImbalanceClassifier
from sessiond_vn_extras.indicator import RsiIndicator
from sessiond_vn_extras.source import RandomWalkSource
from sessiond_vn_extras.strategy import RsiReversionStrategy


@hookimpl
def register_data_sources() -> list[type]:
    return [RandomWalkSource]


@hookimpl
def register_trade_classifiers() -> list[type]:
    return [DepthImbalanceClassifier]


@hookimpl
def register_indicators() -> list[type]:
    return [RsiIndicator]


@hookimpl
def register_strategies() -> list[type]:
    return [RsiReversionStrategy]
