"""Panels and links on reception's screens, from apps reception may not import.

reception knows no quality (docs/architecture.md: nothing imports quality). An app registers
a panel for a slot at start-up (its AppConfig.ready) by URL *name*; reception's templates load
each panel as an htmx fragment (hx-get, hx-trigger="load"), so reception never imports the
panel's code, and a panel that fails to load leaves the screen working.

Slots:
- "counter": the counter screen; the panel URL gets ``?service=<code>`` of the current ticket.
- "lobby": the lobby tablet; ``?service=<code>`` when a service is chosen.
- "overview": the lobby overview.

Links (`register_link`) name a URL by key, e.g. "clause": the page of a standard's clause that
a control point comes from; the URL takes the reference's parts as arguments.
"""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise

SLOTS = ("counter", "lobby", "overview")


@dataclass(frozen=True)
class Panel:
    slot: str
    url_name: str
    title: str | Promise

    @property
    def dom_id(self) -> str:
        return "panel-" + self.url_name.replace(":", "-").replace("_", "-")

    def url(self) -> str:
        return reverse(self.url_name)


_panels: list[Panel] = []
_links: dict[str, str] = {}


def register_panel(slot: str, url_name: str, title: str | Promise) -> Panel:
    """Show the fragment served at `url_name` on `slot`'s screen; registering the same panel
    twice is a no-op (ready() may run twice in tests)."""
    if slot not in SLOTS:
        raise ValueError(f"unknown slot {slot!r}: one of {SLOTS}")
    panel = Panel(slot=slot, url_name=url_name, title=title)
    if all((p.slot, p.url_name) != (slot, url_name) for p in _panels):
        _panels.append(panel)
    return panel


def unregister_panel(slot: str, url_name: str) -> None:
    _panels[:] = [p for p in _panels if (p.slot, p.url_name) != (slot, url_name)]


def panels_for(slot: str) -> list[Panel]:
    """The panels registered for `slot`, in registration order."""
    return [p for p in _panels if p.slot == slot]


def register_link(key: str, url_name: str) -> None:
    """Name the page behind a link kind ("clause": a standard's clause)."""
    _links[key] = url_name


def unregister_link(key: str) -> None:
    _links.pop(key, None)


def link_url(key: str, *args: str) -> str:
    """The registered page for `key` with `args`, or "" when nothing is registered or the
    arguments do not fit its URL (the screen then shows the reference as text)."""
    url_name = _links.get(key)
    if not url_name:
        return ""
    try:
        return reverse(url_name, args=args)
    except NoReverseMatch:
        return ""
