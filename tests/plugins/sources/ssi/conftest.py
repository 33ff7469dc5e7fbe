"""Fixtures of the SSI source tests: a running loopback fake and settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from daemon.demo.ssi_server import FakeSsiServer
from plugins.sources.ssi.settings import SsiSettings


@pytest.fixture(scope="module")
def _fake_ssi_server() -> Iterator[FakeSsiServer]:
    server = FakeSsiServer(keepalive_interval=0.1, keepalive_timeout=20.0).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_ssi(_fake_ssi_server: FakeSsiServer) -> FakeSsiServer:
    """The module's running fake, reset to a clean state for this test."""
    _fake_ssi_server.reset()
    return _fake_ssi_server


@pytest.fixture
def ssi_settings(fake_ssi: FakeSsiServer) -> SsiSettings:
    """Short timers so that reconnect and silence tests take fractions of a second."""
    return SsiSettings(
        consumer_id=fake_ssi.consumer_id,
        consumer_secret=fake_ssi.consumer_secret,
        url=fake_ssi.url,
        stream_url=fake_ssi.url,
        request_timeout_seconds=2.0,
        request_retries=2,
        retry_backoff_seconds=0.01,
        connect_timeout_seconds=2.0,
        keepalive_timeout_seconds=0.5,  # the fake sends {} every 0.1 s
        reconnect_initial_seconds=0.02,
        reconnect_max_seconds=0.2,
        token_refresh_margin_seconds=60.0,
    )
