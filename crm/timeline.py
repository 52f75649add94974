"""The customer's single timeline: a registry of providers, one per app that knows something.

crm imports no other domain app, so it cannot read visits or surveys itself. Each app registers
a provider in its AppConfig.ready() (crm its interactions, notes, reminders and complaints;
reception its visits and tickets; feedback its invitations and answers):

    provider(customer, branch, limit) -> list[TimelineEntry]

A provider returns at most `limit` entries, newest first, from a bounded number of queries
(never one per row), so a page costs the same whatever the customer's history. `timeline_for`
merges them, newest first. An entry may `cover` the sources of crm interactions it already
shows in more detail (reception's visit covers the interaction "visit:12" it recorded): those
interactions are then left out instead of appearing twice.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# crm.models.Customer and accounts.models.Branch: not imported, so the registry stays pure.
Customer = Any
Branch = Any


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "visit", "interaction", "note", "survey", "reminder", "complaint", …
    title: str
    detail: str = ""
    url: str | None = None
    badge: str = ""
    # The crm interaction's `source` this entry is ("visit:12"), and the sources it covers.
    source: str = ""
    covers: tuple[str, ...] = field(default=())


Provider = Callable[[Customer, Branch, int], list[TimelineEntry]]

_providers: dict[str, Provider] = {}


def register(name: str, provider: Provider) -> None:
    """Register (or replace, on a reload) the provider called `name`."""
    _providers[name] = provider


def providers() -> dict[str, Provider]:
    return dict(_providers)


def timeline_for(*, customer: Customer, branch: Branch, limit: int) -> list[TimelineEntry]:
    """The customer's latest `limit` entries at `branch`, newest first, from every provider."""
    entries: list[TimelineEntry] = []
    for provider in _providers.values():
        entries.extend(provider(customer, branch, limit))
    covered = {source for entry in entries for source in entry.covers}
    kept = [e for e in entries if not (e.source and e.source in covered)]
    kept.sort(key=lambda e: e.at, reverse=True)
    return kept[:limit]
