"""TradingHours agrees with the exchange's phase model for every instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from core.phases import phase_at
from plugins.sources.alpaca.hours import TradingHours

instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2025, 12, 31), timezones=st.just(UTC)
)
HOURS = {
    (pre, post): TradingHours("XNYS", pre_market=pre, post_market=post)
    for pre in (False, True)
    for post in (False, True)
}


@settings(max_examples=300)
@given(instants, st.booleans(), st.booleans())
def test_an_instant_is_kept_exactly_when_its_phase_is_regular_or_an_included_extension(
    ts, pre, post
):
    hours = HOURS[(pre, post)]
    phase = phase_at("XNYS", ts).value
    wanted = (
        {"continuous"} | ({"pre_market"} if pre else set()) | ({"post_market"} if post else set())
    )
    assert hours.phase_of(ts) == (phase if phase in wanted else None)
    assert hours.keeps(ts) == (phase in wanted)


@given(instants)
def test_a_one_minute_bar_is_kept_when_its_open_is_kept(ts):
    opening = ts.replace(second=0, microsecond=0)
    hours = HOURS[(False, False)]
    assert hours.keeps_span(opening, timedelta(minutes=1)) == hours.keeps(opening)


def test_early_close_day_has_regular_hours_until_1300_and_post_market_until_1700_et():
    hours = HOURS[(True, True)]
    windows = hours.windows(datetime(2024, 11, 29).date())
    assert [(w[2], w[0].isoformat(), w[1].isoformat()) for w in windows] == [
        ("pre_market", "2024-11-29T09:00:00+00:00", "2024-11-29T14:30:00+00:00"),
        ("continuous", "2024-11-29T14:30:00+00:00", "2024-11-29T18:00:00+00:00"),
        ("post_market", "2024-11-29T18:00:00+00:00", "2024-11-29T22:00:00+00:00"),
    ]
    assert hours.windows(datetime(2024, 11, 28).date()) == []  # Thanksgiving
