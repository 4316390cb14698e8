"""Time helpers: stored in UTC, shown and reasoned about in Europe/Paris."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def now() -> datetime:
    return datetime.now(UTC)


def to_paris(moment: datetime) -> datetime:
    return moment.astimezone(PARIS)


def end_of_day_paris(day: date) -> datetime:
    """23:59:59 in Paris on that day, as an aware datetime (deadlines given as dates)."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=PARIS)


def parse_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("date attendue au format AAAA-MM-JJ")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("date attendue au format AAAA-MM-JJ") from exc


def parse_deadline(value: object) -> datetime:
    """A date (end of that day in Paris) or an ISO 8601 datetime with an offset."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("fuseau horaire manquant")
        return value
    if isinstance(value, str) and "T" in value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError("date et heure ISO 8601 attendues") from exc
        if moment.tzinfo is None:
            raise ValueError("date et heure ISO 8601 avec fuseau attendues")
        return moment
    return end_of_day_paris(parse_date(value))


def days_from(moment: datetime, days: int) -> datetime:
    return end_of_day_paris(to_paris(moment + timedelta(days=days)).date())
