"""Template side of reception/extensions.py: other apps' panels and links, by URL name."""

from urllib.parse import urlencode

from django import template

from reception import extensions

register = template.Library()


@register.inclusion_tag("reception/_panels.html")
def panel_slot(slot: str, service: str = ""):
    """Every panel registered for `slot`, each loaded by htmx with ?service=<code> if given."""
    query = "?" + urlencode({"service": service}) if service else ""
    return {
        "slot": slot,
        "panels": [
            {"panel": panel, "url": panel.url() + query} for panel in extensions.panels_for(slot)
        ],
    }


@register.simple_tag
def clause_url(ref: str) -> str:
    """The page of the standard's clause named by a control point's reference
    ("SOP-CASH 3.2"), or "" when the reference is malformed or no app serves clauses."""
    parts = (ref or "").split()
    if len(parts) != 2:
        return ""
    return extensions.link_url("clause", parts[0], parts[1])
