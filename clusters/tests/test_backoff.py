"""clusters/backoff.py: exponential backoff with full jitter."""

import random

import pytest

from clusters.backoff import full_jitter


def test_waits_grow_exponentially_up_to_the_cap():
    rng = random.Random(7)
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (4, 10.0), (40, 10.0)]:
        waits = [full_jitter(attempt, base=1.0, cap=10.0, rng=rng) for _ in range(2000)]
        assert min(waits) >= 0 and max(waits) <= ceiling
        assert max(waits) > 0.95 * ceiling


def test_jitter_is_full_it_spreads_over_the_whole_window():
    # a +-50 % jitter never waits less than half the window; full jitter does, a quarter of
    # the time below a quarter of it
    rng = random.Random(11)
    waits = [full_jitter(2, base=1.0, cap=60.0, rng=rng) for _ in range(4000)]
    assert min(waits) < 0.05
    assert 0.2 < sum(w < 1.0 for w in waits) / len(waits) < 0.3
    assert 1.9 < sum(waits) / len(waits) < 2.1


def test_huge_attempt_numbers_stay_at_the_cap():
    assert full_jitter(5000, base=0.5, cap=30.0, rng=random.Random(1)) <= 30.0


def test_negative_input_is_refused():
    with pytest.raises(ValueError):
        full_jitter(-1, base=1.0, cap=1.0)
