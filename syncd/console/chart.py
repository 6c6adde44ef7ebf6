"""The overview's chart of records in and out per hour, as numbers an SVG template draws.

Pure: no I/O. Bars are scaled to the busiest hour of the sync so a quiet sync's activity
is still visible; every bar carries its exact counts for a tooltip and a screen reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Bar", "Chart", "hourly_chart"]

WIDTH = 480
HEIGHT = 80
_SLOT = WIDTH // 24


@dataclass(frozen=True)
class Bar:
    x: int
    width: int
    inbound_y: int
    inbound_height: int
    outbound_y: int
    outbound_height: int
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    total_in: int
    total_out: int
    peak: int


def hourly_chart(inbound: list[int], outbound: list[int], now: datetime) -> Chart:
    """Side-by-side bars per hour, oldest on the left; ``now`` labels the hours."""
    hours = len(inbound)
    peak = max([*inbound, *outbound, 1])
    slot = WIDTH // max(hours, 1)
    half = max(1, (slot - 2) // 2)
    bars = []
    for i, (got, sent) in enumerate(zip(inbound, outbound, strict=True)):
        start = now - timedelta(hours=hours - i)
        h_in = round(got / peak * (HEIGHT - 2)) if got else 0
        h_out = round(sent / peak * (HEIGHT - 2)) if sent else 0
        bars.append(
            Bar(
                x=i * slot + 1,
                width=half,
                inbound_y=HEIGHT - h_in,
                inbound_height=h_in,
                outbound_y=HEIGHT - h_out,
                outbound_height=h_out,
                label=f"{start:%H:%M} to {start + timedelta(hours=1):%H:%M} UTC: {got} in, {sent} out",
            )
        )
    return Chart(WIDTH, HEIGHT, bars, sum(inbound), sum(outbound), peak)
