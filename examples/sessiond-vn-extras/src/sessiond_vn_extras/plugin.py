"""The module the ``sessiond`` entry point names: one hook implementation per kind.

A strategy will be registered here the same way (``register_strategies``) once sessiond's
trading engine defines the ``Strategy`` interface.
"""

from __future__ import annotations

from plugins import hookimpl
from sessiond_vn_extras.classifier import DepthImbalanceClassifier
from sessiond_vn_extras.indicator import RsiIndicator
from sessiond_vn_extras.source import RandomWalkSource


@hookimpl
def register_data_sources() -> list[type]:
    return [RandomWalkSource]


@hookimpl
def register_trade_classifiers() -> list[type]:
    return [DepthImbalanceClassifier]


@hookimpl
def register_indicators() -> list[type]:
    return [RsiIndicator]
