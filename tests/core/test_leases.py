"""core.leases: one daemon per session and store; refusal, heartbeat, release, takeover."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from core.errors import LeaseError
from core.leases import LeaseHolder, LeaseStore, SessionLease, holder_is_dead_here, read_leases
from core.store import Store

A = LeaseHolder("host-a:100:aaaa", "host-a", 100)
B = LeaseHolder("host-b:200:bbbb", "host-b", 200)


def test_a_second_holder_is_refused_with_the_holder_named_until_the_first_releases(
    store_url: str,
) -> None:
    with Store.from_url(store_url) as store:
        first, second = LeaseStore(store, A), LeaseStore(store, B)
        lease = first.acquire("vn30_live", "session_configs/vn30_live.json", api_url="http://x/")
        assert (lease.holder, lease.api_url) == (A.holder, "http://x/")
        with pytest.raises(LeaseError) as refused:
            second.acquire("vn30_live", "other.json")
        message = str(refused.value)
        assert "session 'vn30_live' is already running in another daemon" in message
        assert "pid 100 on host-a" in message and "session_configs/vn30_live.json" in message
        assert first.acquire("vn30_live", "session_configs/vn30_live.json").holder == A.holder
        assert first.renew(["vn30_live"], run_ids={"vn30_live": 7}) == []
        now, leases = read_leases(store)
        assert [(x.session_name, x.holder, x.run_id) for x in leases] == [
            ("vn30_live", A.holder, 7)
        ]
        assert leases[0].expires_at > now >= leases[0].heartbeat_at
        assert first.release() == 1
        assert second.acquire("vn30_live", "other.json").holder == B.holder
        assert first.renew(["vn30_live"]) == ["vn30_live"]  # not ours any more


def test_an_expired_lease_is_taken_over_and_its_old_holder_learns_it_lost_it(
    store_url: str,
) -> None:
    with Store.from_url(store_url) as store:
        first = LeaseStore(store, A, ttl_seconds=1.5)
        second = LeaseStore(store, B, ttl_seconds=1.5)
        first.acquire("us_live", "us.json")
        first.acquire("vn30_live", "vn.json")
        with pytest.raises(LeaseError):
            second.acquire("us_live", "us.json")
        time.sleep(1.7)  # A stopped renewing (killed): its leases expire on the database clock
        assert second.acquire("us_live", "us.json").holder == B.holder
        assert first.renew(["us_live", "vn30_live"]) == ["us_live"]
        assert {x.session_name: x.holder for x in read_leases(store)[1]} == {
            "us_live": B.holder,
            "vn30_live": A.holder,
        }


def test_take_over_names_the_dead_holder_and_only_that_one(store_url: str) -> None:
    with Store.from_url(store_url) as store:
        LeaseStore(store, A).acquire("s", "s.json")
        second = LeaseStore(store, B)
        with pytest.raises(LeaseError):
            second.acquire("s", "s.json", take_over="someone-else")
        assert second.acquire("s", "s.json", take_over=A.holder).holder == B.holder


def test_a_holder_is_dead_here_only_when_its_pid_is_gone_on_this_host() -> None:
    me = LeaseHolder.this_process()
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(finished.stdout)

    def lease(hostname: str, pid: int, holder: str = "other") -> SessionLease:
        t = datetime(2026, 1, 1, tzinfo=UTC)
        return SessionLease("s", holder, hostname, pid, "s.json", None, None, t, t, t)

    assert holder_is_dead_here(lease(me.hostname, dead_pid), me)
    assert holder_is_dead_here(lease(me.hostname, me.pid), me)  # a previous incarnation
    assert not holder_is_dead_here(lease(me.hostname, me.pid, me.holder), me)  # this process
    assert not holder_is_dead_here(lease(me.hostname, os.getppid()), me)
    assert not holder_is_dead_here(lease("elsewhere", dead_pid), me)
