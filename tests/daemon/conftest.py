"""Fixtures of the daemon tests built once per test session.

``live_day`` (about 25 s: the live daemon against the fake SSI server over a scripted day) and
``vn_replays`` (that day replayed twice as a backtest) are session-scoped; every module using
them carries ``pytest.mark.xdist_group("vn_live_day")`` so ``--dist loadgroup`` sends them to
one worker, which builds each once.
"""

from __future__ import annotations

import pytest

from tests.daemon.vn_live_support import LiveRun, Replay, run_live_day, run_replays


@pytest.fixture(scope="session")
def live_day(tmp_path_factory: pytest.TempPathFactory) -> LiveRun:
    return run_live_day(tmp_path_factory.mktemp("vn_live"))


@pytest.fixture(scope="session")
def replays(live_day: LiveRun, tmp_path_factory: pytest.TempPathFactory) -> list[Replay]:
    return run_replays(live_day, tmp_path_factory.mktemp("vn_replay"))
