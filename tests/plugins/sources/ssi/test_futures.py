"""VN30 futures: the 2025-2026 table of vietnam_market.md §4.2, both code forms, listing, roll."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import calendars
from core.errors import SourceError
from plugins.sources.ssi import futures

# vietnam_market.md §4.2, transcribed: (year, month) -> (last trading day, KRX code)
REFERENCE_TABLE = {
    (2025, 1): ("2025-01-16", "41I1F1000"),
    (2025, 2): ("2025-02-20", "41I1F2000"),
    (2025, 3): ("2025-03-20", "41I1F3000"),
    (2025, 4): ("2025-04-17", "41I1F4000"),
    (2025, 5): ("2025-05-15", "41I1F5000"),
    (2025, 6): ("2025-06-19", "41I1F6000"),
    (2025, 7): ("2025-07-17", "41I1F7000"),
    (2025, 8): ("2025-08-21", "41I1F8000"),
    (2025, 9): ("2025-09-18", "41I1F9000"),
    (2025, 10): ("2025-10-16", "41I1FA000"),
    (2025, 11): ("2025-11-20", "41I1FB000"),
    (2025, 12): ("2025-12-18", "41I1FC000"),
    (2026, 1): ("2026-01-15", "41I1G1000"),
    (2026, 2): ("2026-02-13", "41I1G2000"),
    (2026, 3): ("2026-03-19", "41I1G3000"),
    (2026, 4): ("2026-04-16", "41I1G4000"),
    (2026, 5): ("2026-05-21", "41I1G5000"),
    (2026, 6): ("2026-06-18", "41I1G6000"),
    (2026, 7): ("2026-07-16", "41I1G7000"),
    (2026, 8): ("2026-08-20", "41I1G8000"),
    (2026, 9): ("2026-09-17", "41I1G9000"),
    (2026, 10): ("2026-10-15", "41I1GA000"),
    (2026, 11): ("2026-11-19", "41I1GB000"),
    (2026, 12): ("2026-12-17", "41I1GC000"),
}
# "contracts listed before 5 May 2025 (January-June, September and December 2025) traded under VN30F25MM"
LEGACY_2025 = {1, 2, 3, 4, 5, 6, 9, 12}


@pytest.mark.parametrize(("year", "month"), sorted(REFERENCE_TABLE))
def test_expiry_and_codes_match_the_reference_table(year: int, month: int) -> None:
    expiry, krx = REFERENCE_TABLE[(year, month)]
    contract = futures.FuturesContract(year, month)
    assert contract.expiry == date.fromisoformat(expiry)
    assert contract.krx_code == krx
    assert contract.legacy_code == f"VN30F{year % 100:02d}{month:02d}"
    legacy_listed = year == 2025 and month in LEGACY_2025
    assert contract.symbol == (contract.legacy_code if legacy_listed else krx)


def test_february_2026_expires_before_tet() -> None:
    assert futures.third_thursday(2026, 2) == date(2026, 2, 19)
    assert futures.expiry_date(2026, 2) == date(2026, 2, 13)


def test_april_2024_expired_the_day_before_hung_kings_day() -> None:
    assert futures.expiry_date(2024, 4) == date(2024, 4, 17)


@pytest.mark.parametrize(
    ("symbol", "other"),
    [
        ("VN30F2504", "41I1F4000"),
        ("VN30F2510", "41I1FA000"),
        ("VN30F2511", "41I1FB000"),
        ("VN30F2602", "41I1G2000"),
    ],
)
def test_both_forms_map_to_one_instrument(symbol: str, other: str) -> None:
    assert futures.to_krx(symbol) == other and futures.to_legacy(other) == symbol
    assert futures.parse_contract(symbol) == futures.parse_contract(other)
    assert futures.aliases(other) == (symbol, other)


@pytest.mark.parametrize("bad", ["VN30F2613", "41I1I2000", "41I2G2000", "ACB", "VN30F26"])
def test_unknown_codes_are_rejected_with_the_expected_forms(bad: str) -> None:
    with pytest.raises(SourceError, match="VN30FYYMM"):
        futures.parse_contract(bad)


def test_listed_contracts_in_april_are_apr_may_jun_sep() -> None:
    assert [(c.year, c.month) for c in futures.listed_contracts(date(2025, 4, 10))] == [
        (2025, 4),
        (2025, 5),
        (2025, 6),
        (2025, 9),
    ]


def test_primary_contract_rolls_the_day_after_expiry() -> None:
    assert futures.primary_symbol(date(2025, 4, 17)) == "VN30F2504"
    assert futures.primary_symbol(date(2025, 4, 18)) == "VN30F2505"
    assert futures.listed_symbols(date(2025, 4, 18)) == [
        "VN30F2505",
        "VN30F2506",
        "VN30F2509",
        "VN30F2512",
    ]
    assert futures.primary_symbol(date(2026, 2, 13)) == "41I1G2000"
    assert futures.primary_symbol(date(2026, 2, 23)) == "41I1G3000"
    assert futures.listed_symbols(date(2025, 12, 19)) == [
        "41I1G1000",
        "41I1G2000",
        "41I1G3000",
        "41I1G6000",
    ]


@settings(max_examples=100, deadline=None)
@given(st.integers(2010, 2039), st.integers(1, 12))
def test_code_forms_round_trip(year: int, month: int) -> None:
    contract = futures.FuturesContract(year, month)
    assert futures.parse_contract(contract.legacy_code) == contract
    assert futures.parse_contract(contract.krx_code) == contract


@settings(max_examples=100, deadline=None)
@given(st.dates(date(2024, 1, 1), date(2026, 10, 31)))
def test_listing_always_has_four_distinct_unexpired_contracts(day: date) -> None:
    listed = futures.listed_contracts(day)
    assert len(set(listed)) == 4 and listed == sorted(listed)
    assert all(contract.expiry >= day for contract in listed[:1])
    assert listed[0] == futures.front_contract(day)
    assert [c.month in futures.QUARTER_MONTHS for c in listed[2:]] == [True, True]
    expiry = listed[0].expiry
    assert calendars.is_session("VN30F", expiry)
    assert (
        timedelta(0)
        <= futures.third_thursday(expiry.year, expiry.month) - expiry
        < timedelta(days=7)
    )
