"""The multi-process bench's arithmetic: the highest rate over any window, and the balancer's
choice of whose updates wait for whom."""

from __future__ import annotations

import pytest

from bench.scale import max_window_rate, percentile, person_of


def test_the_window_rate_is_the_busiest_window_not_the_mean() -> None:
    # 4 a second for 20 s (binary fractions: exact), and 8 extra messages within one second.
    times = [i * 0.25 for i in range(80)] + [12 + i * 0.125 for i in range(8)]
    assert max_window_rate(times, 10.0) == pytest.approx(4.8)
    assert max_window_rate(times, 1.0) == pytest.approx(12.0)
    # The mean over the whole run would hide the burst: 88 messages in 20 s; order is no matter.
    assert max_window_rate(sorted(times, reverse=True), 10.0) == pytest.approx(4.8)


def test_a_window_counts_events_less_than_its_length_apart() -> None:
    assert max_window_rate([0.0, 10.0], 10.0) == pytest.approx(0.1)
    assert max_window_rate([0.0, 9.999], 10.0) == pytest.approx(0.2)
    assert max_window_rate([], 10.0) == 0.0


def test_percentile_takes_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.99) == 100.0
    assert percentile(values, 0.50) == 51.0
    assert percentile([], 0.99) == 0.0


def test_updates_are_ordered_per_sender() -> None:
    message = {"update_id": 1, "message": {"from": {"id": 7}, "chat": {"id": 7}}}
    press = {"update_id": 2, "callback_query": {"from": {"id": 8}, "id": "q"}}
    assert [person_of(message), person_of(press), person_of({"update_id": 3})] == [7, 8, 0]
