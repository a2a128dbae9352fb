"""The calendar as an RFC 5545 feed: one VEVENT per entry, with a UID that never changes and a
SEQUENCE that grows with the entry, so calendar clients update events instead of duplicating
them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pycountry
from icalendar import Calendar, Event

from meetings_api.calendar.models import CalendarEntry

PRODID = "-//Budapest Process//meetings-api//EN"
UID_DOMAIN = "budapest-process"
_CONFIRMED = {"planned", "held", "scheduled"}


def uid(entry: CalendarEntry) -> str:
    return f"{entry.source.value}-{entry.id}@{UID_DOMAIN}"


def ics_status(entry: CalendarEntry) -> str:
    if entry.status == "cancelled":
        return "CANCELLED"
    # A meeting is fixed once planned; an activity only once it has its dates.
    return "CONFIRMED" if entry.status in _CONFIRMED else "TENTATIVE"


def _country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return str(country.name) if country is not None else code


def _location(entry: CalendarEntry) -> str:
    countries = ", ".join(_country_name(code) for code in entry.host_countries)
    return f"{entry.city}, {countries}" if entry.city else countries


def _description(entry: CalendarEntry, goal: int | None, url: str) -> str:
    lines = [f"{entry.source.value.capitalize()} ({entry.kind.replace('_', ' ')}), {entry.status}."]
    if entry.starts_on is None:
        when = f"Q{entry.quarter} {entry.year}" if entry.quarter else str(entry.year)
        span = "quarter" if entry.quarter else "year"
        lines.append(f"Planned for {when}; no dates yet, so shown across the whole {span}.")
    if goal is not None:
        lines.append(f"Priority goal {goal}.")
    if entry.working_group:
        lines.append(f"Working group: {entry.working_group}.")
    lines.append(url)
    return "\n".join(lines)


def _event(entry: CalendarEntry, goal: int | None, base_url: str) -> Event:
    url = base_url + entry.path
    event = Event()
    event.add("uid", uid(entry))
    event.add("dtstamp", entry.changed_at)
    event.add("last-modified", entry.changed_at)
    event.add("sequence", entry.revision)
    event.add("summary", entry.title)
    # All-day events: DTSTART;VALUE=DATE, and DTEND the day after the last one (exclusive).
    event.add("dtstart", entry.period_start)
    event.add("dtend", entry.period_end + timedelta(days=1))
    if entry.starts_on is None:
        event.add("transp", "TRANSPARENT")  # a placeholder span must not block anyone's time
    event.add("status", ics_status(entry))
    if entry.host_countries:
        event.add("location", _location(entry))
    event.add("description", _description(entry, goal, url))
    event.add("categories", [entry.source.value, entry.kind])
    event.add("url", url)
    return event


def calendar_feed(rows: Sequence[tuple[CalendarEntry, int | None]], base_url: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "Budapest Process: meetings and activities")
    for entry, goal in rows:
        calendar.add_component(_event(entry, goal, base_url.rstrip("/")))
    return calendar.to_ical()
