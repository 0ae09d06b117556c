"""How long to wait before retrying a call to a cluster, a Prometheus or a task: exponential
backoff with full jitter, the one formula every retry loop here uses.

Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter") draws the wait uniformly
from [0, min(cap, base * 2**attempt)]: retries of many workers that failed together spread over
the whole window instead of bunching around its middle, as a +-50 % jitter does.
"""

import random


def full_jitter(
    attempt: int, *, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait before retry number `attempt` (0 for the first retry)."""
    if attempt < 0 or base < 0 or cap < 0:
        raise ValueError("attempt, base and cap must not be negative")
    # 2**attempt overflows a float past ~1024 doublings; the cap is reached long before
    ceiling = cap if attempt >= 64 else min(cap, base * 2**attempt)
    return (rng or random).uniform(0, ceiling)
