"""Date ranges of the cost pages and API: the default (the trailing 30 days, so a page two days
into a month still shows a month of points) and the quick ranges. Pure functions."""

from datetime import date, timedelta

DEFAULT_DAYS = 30
QUICK = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "this-month": "This month",
    "last-month": "Last month",
}


def trailing(today: date, days: int = DEFAULT_DAYS) -> tuple[date, date]:
    return today - timedelta(days=days - 1), today


def quick_range(key: str, today: date) -> tuple[date, date]:
    """[start, end] of a quick range (KeyError for an unknown key)."""
    if key.endswith("d") and key in QUICK:
        return trailing(today, int(key[:-1]))
    if key == "this-month":
        return today.replace(day=1), today
    if key == "last-month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    raise KeyError(key)


def default_range(end: date | None, today: date) -> tuple[date, date]:
    """No start given: the 30 days ending at `end` (or today)."""
    return trailing(end or today)
