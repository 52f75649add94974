"""Extra links on the customer's ticket pages, from apps queueing may not import.

queueing knows no reception (docs/architecture.md); reception (the pre-filled form, …) registers
a provider at start-up (its AppConfig.ready) and the status page and the printed ticket show
what the providers return. A provider must be cheap: the status page is the hottest page there is
(at most one cheap query; better, none, from a cache).
"""

from collections.abc import Callable

from .models import Ticket

LinkProvider = Callable[[Ticket], list[tuple[str, str]]]

_providers: list[LinkProvider] = []


def register_ticket_page_link(provider: LinkProvider) -> LinkProvider:
    """Add `provider(ticket) -> [(label, url), …]`; registering the same one twice is a no-op.
    Usable as a decorator."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def unregister_ticket_page_link(provider: LinkProvider) -> None:
    if provider in _providers:
        _providers.remove(provider)


def ticket_page_links(ticket: Ticket) -> list[tuple[str, str]]:
    """Every registered provider's links for this ticket, in registration order."""
    links: list[tuple[str, str]] = []
    for provider in _providers:
        links.extend(provider(ticket))
    return links
