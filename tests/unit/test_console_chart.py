"""The overview's chart: bars scaled to the busiest hour, labelled with exact counts."""

from __future__ import annotations

from datetime import UTC, datetime

from syncd.console.chart import HEIGHT, hourly_chart


def test_bars_scale_to_the_busiest_hour_and_say_their_counts() -> None:
    now = datetime(2026, 1, 2, 12, 30, tzinfo=UTC)
    inbound = [0] * 22 + [10, 5]
    outbound = [0] * 23 + [20]
    chart = hourly_chart(inbound, outbound, now)
    assert (chart.total_in, chart.total_out, chart.peak) == (15, 20, 20)
    assert len(chart.bars) == 24
    last = chart.bars[-1]
    assert last.outbound_height == HEIGHT - 2 and last.outbound_y == 2
    assert last.inbound_height == round(5 / 20 * (HEIGHT - 2))
    assert chart.bars[0].inbound_height == 0 and chart.bars[0].inbound_y == HEIGHT
    assert last.label == "11:30 to 12:30 UTC: 5 in, 20 out"
    assert chart.bars[1].x > chart.bars[0].x


def test_a_quiet_day_draws_no_bars() -> None:
    chart = hourly_chart([0] * 24, [0] * 24, datetime(2026, 1, 2, tzinfo=UTC))
    assert chart.peak == 1 and all(b.inbound_height == b.outbound_height == 0 for b in chart.bars)
