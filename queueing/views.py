"""Pages of this app (thin: parse, call a service or selector, render).

The display board (branch display token in the URL), the printed ticket (staff) and the
customer's status page (signed link). Live updates: queueing/live.py, docs/live-updates.md.
"""

import contextlib
import functools
import hashlib
import math
from datetime import timedelta

import segno
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.access import get_for_branch, staff_required
from accounts.models import Branch, Role
from accounts.throttle import rate_limited

from . import eta, fragments, live, remote, selectors, services
from .extensions import ticket_page_links
from .links import ticket_id_from_token, ticket_status_token
from .models import Ticket
from .states import FINAL, TicketStatus

# The board and the printed ticket are bilingual signs: Chinese and English side by side,
# whatever the viewer's language; the Chinese in the script the viewer chose (sign_languages).
CALL_SENTENCE = _("Ticket %(code)s, please go to counter %(counter)s")
GO_TO_COUNTER = _("Please go to counter %(counter)s")
BOARD_LABELS = {
    "now_calling": _("Now calling"),
    "recent_calls": _("Recent calls"),
    "waiting": _("People waiting"),
    "ticket": _("Ticket"),
    "counter": _("Counter"),
    "no_calls": _("No calls yet today"),
    "enable_sound": _("Click anywhere to enable sound"),
    "listen": _("Please listen for your number and have your ID card ready."),
    "offline": _("Reconnecting…"),
}
TICKET_LABELS = {
    "your_number": _("Your number"),
    "service": _("Service"),
    "issued": _("Issued"),
    "ahead": _("People ahead"),
    "wait": _("Estimated wait"),
    "scan": _("Scan to follow your turn on your phone"),
    "keep": _("Please keep this ticket until you are called."),
    "no_counter": _("No counter open for this service"),
    "minutes": _("min"),
}


def _in_language(lang: str, message, **params) -> str:
    with translation.override(lang):
        text = str(message)
    return text % params if params else text


def sign_languages() -> tuple[str, str]:
    """(Chinese, English) for a sign: Traditional Chinese for a viewer who chose it (the
    language switch, or the browser's preference), else Simplified."""
    chosen = (translation.get_language() or "").lower()
    return ("zh-hant" if chosen.startswith("zh-hant") else "zh-hans"), "en"


def _bilingual(message, **params) -> dict[str, str]:
    zh, en = (_in_language(lang, message, **params) for lang in sign_languages())
    if zh == en:  # not translated yet: one line, not the same sentence twice
        return {"zh": zh, "en": ""}
    return {"zh": zh, "en": en}


def _bilingual_labels(labels: dict) -> dict[str, dict[str, str]]:
    return {key: _bilingual(message) for key, message in labels.items()}


def _eta_minutes(eta_s: float) -> int | None:
    """Whole minutes, rounded up; None when no open counter serves the ticket (infinite)."""
    if math.isinf(eta_s):
        return None
    return max(1, math.ceil(eta_s / 60)) if eta_s > 0 else 0


def _eta_range(outlook: dict) -> tuple[int, int] | None:
    """The 80 % interval around the estimate in whole minutes ("8-16"), or None when there is
    no number to qualify (no counter open, "any moment")."""
    minutes = _eta_minutes(outlook["eta_s"])
    if not minutes:
        return None
    low_s, high_s = eta.estimate_interval(outlook["eta_s"], outlook["people_ahead"])
    return (min(minutes, math.floor(low_s / 60)), max(minutes, math.ceil(high_s / 60)))


# --- The lobby display board ---------------------------------------------------------------------


def _board_branch(token: str) -> Branch:
    branch = selectors.branch_by_display_token(token=token)
    if branch is None:
        raise Http404
    return branch


def _board_state(branch: Branch) -> dict:
    calls = selectors.recent_calls(branch=branch, limit=8)
    waiting = selectors.waiting_by_service(branch=branch)
    newest = calls[0] if calls else None
    return {
        "branch": branch,
        "calls": calls,
        "newest": newest,
        "newest_sentence": _bilingual(
            CALL_SENTENCE, code=newest.code, counter=newest.counter.number
        )
        if newest and newest.counter
        else None,
        "waiting": waiting,
        "waiting_total": sum(row["waiting"] for row in waiting),
        "t": _bilingual_labels(BOARD_LABELS),
        "sign_zh": sign_languages()[0],
    }


@rate_limited("public_page")
def board(request: HttpRequest, token: str) -> HttpResponse:
    branch = _board_branch(token)
    context = _board_state(branch)
    context.update(
        # The board's stream carries its state (queueing/live.py): a board-scoped live token.
        live=live.live_context(request, branch.pk, board=True),
        state_url=reverse("queueing:board_state", args=[token]),
        # Spoken with the ticket code and counter filled in by board.js.
        say=_bilingual(CALL_SENTENCE, code="{code}", counter="{counter}"),
        now=timezone.localtime(timezone.now(), branch.tz),
    )
    return render(request, "queueing/board.html", context)


def _token_key(token: str) -> str:
    # Keys name a digest, not the display token itself (cache dumps, MONITOR output).
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def _board_branch_cached(token: str) -> Branch | None:
    """The board's branch, looked up once a minute per token, not on every fetch.

    A rotated display token therefore still serves state fragments for up to
    FRAGMENT_TTL_S; the board page itself (and live.js's reload when the live token expires)
    re-checks it every time."""
    found = fragments.shared(
        f"board-branch:{_token_key(token)}",
        lambda: selectors.branch_by_display_token(token=token) or 0,  # 0: cache "no such board"
    )
    return found or None


def board_key(branch_id: int, version: int | None, language: str) -> str:
    """One key per (branch, queue version, language): shared by the fetched fragment and the
    live service's board streams, which know the branch, not the display token."""
    return f"board-state:{branch_id}:{version}:{language}"


def board_fragment(
    branch_id: int, version: int, language: str, *, branch: Branch | None = None
) -> str:
    """The board's #state for this version, rendered once for every board of the branch (all
    workers and nodes: queueing/fragments.py). `version` must be one the branch has reached."""

    def render_state() -> str:
        with translation.override(language):
            found = branch or selectors.branch_by_id(branch_id=branch_id)
            return render_to_string("queueing/board.html#state", _board_state(found))

    return fragments.shared(board_key(branch_id, version, language), render_state)


@rate_limited("public_page")
def board_state(request: HttpRequest, token: str) -> HttpResponse:
    """The board's state, rendered once per (board, queue version, language) for all boards.

    N boards fetching after a call cost one render (4 queries) in all, not N: see
    queueing/fragments.py. `?v=` names the version the board was told about."""
    branch = _board_branch_cached(token)
    if branch is None:
        raise Http404
    language = translation.get_language() or ""
    asked = fragments.requested_version(request.GET.get("v"))
    # The 2nd..Nth board on this worker: straight from memory, not even a version read.
    html = (
        fragments.peek_local(board_key(branch.pk, asked, language)) if asked is not None else None
    )
    if html is None:
        version, cacheable = fragments.key_version(branch.pk, request.GET.get("v"))
        if cacheable:
            html = board_fragment(branch.pk, version, language, branch=branch)
        else:
            html = render_to_string("queueing/board.html#state", _board_state(branch))
    response = HttpResponse(html)
    response["Cache-Control"] = "no-store"
    return response


# --- The printed ticket ---------------------------------------------------------------------------


def status_url_for(ticket: Ticket) -> str:
    path = reverse("queueing:ticket_status", args=[ticket_status_token(ticket.pk)])
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


@staff_required(Role.LOBBY_MANAGER, Role.TELLER)
def ticket_print(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_for_branch(
        selectors.tickets_for_branch(branch=request.branch), request.branch, pk=pk
    )
    width = "58" if request.GET.get("w") == "58" else "80"
    status_url = status_url_for(ticket)
    outlook = selectors.ticket_outlook(ticket=ticket)
    context = {
        "ticket": ticket,
        "branch": request.branch,
        "width": width,
        "other_width": "80" if width == "58" else "58",
        "auto_print": request.GET.get("print") == "1",
        "issued": timezone.localtime(ticket.issued_at, request.branch.tz),
        "outlook": outlook,
        "eta_minutes": _eta_minutes(outlook["eta_s"]),
        "is_waiting": ticket.status == TicketStatus.WAITING,
        "status_url": status_url,
        "qr_uri": segno.make(status_url, error="m").svg_data_uri(scale=4, border=2),
        "t": _bilingual_labels(TICKET_LABELS),
        "sign_zh": sign_languages()[0],
        # Other apps' links (reception's pre-filled form): queueing.extensions.
        "page_links": ticket_page_links(ticket),
    }
    return render(request, "queueing/ticket_print.html", context)


# --- The customer's status page -------------------------------------------------------------------


def _customer_ticket(token: str) -> Ticket | None:
    ticket_id = ticket_id_from_token(token)
    return selectors.ticket_for_customer(ticket_id=ticket_id) if ticket_id else None


STATUS_OUTLOOK_TTL_S = 30  # estimates move with the clock too: recompute at least this often


def _shared_outlook(ticket: Ticket, requested_version: str | None) -> dict:
    """This ticket's outlook from the branch-wide estimate, computed once per queue version for
    every phone of the branch (the ticket's own row is the only per-phone query)."""
    if ticket.status not in selectors.QUEUED:
        return selectors.outlook_for(ticket, {})
    asked = fragments.requested_version(requested_version)
    branch_outlook = (
        fragments.peek_local(f"branch-outlook:{ticket.branch_id}:{asked}")
        if asked is not None
        else None
    )
    if branch_outlook is None:
        version, cacheable = fragments.key_version(ticket.branch_id, requested_version)
        if not cacheable:
            return selectors.ticket_outlook(ticket=ticket)
        branch_outlook = _branch_outlook_shared(ticket.branch_id, version, ticket.branch)
    if ticket.pk not in branch_outlook:
        # Issued after that version's estimate was made (a stale cached version): ask directly.
        return selectors.ticket_outlook(ticket=ticket)
    return selectors.outlook_for(ticket, branch_outlook)


def _branch_outlook_shared(branch_id: int, version: int, branch: Branch | None = None):
    """selectors.branch_outlook for a version the branch has reached, once for every phone."""

    def compute() -> selectors.Outlook:
        found = branch or selectors.branch_by_id(branch_id=branch_id)
        return selectors.branch_outlook(branch=found) if found is not None else {}

    return fragments.shared(
        f"branch-outlook:{branch_id}:{version}", compute, ttl=STATUS_OUTLOOK_TTL_S
    )


def outlook_html(language: str, people_ahead: int, eta_s: float) -> str:
    """ticket_status.html#outlook (a queued ticket's place and wait) in `language`."""
    outlook = {"people_ahead": people_ahead, "eta_s": eta_s}
    return _render_outlook(language, people_ahead, _eta_minutes(eta_s), _eta_range(outlook))


# Its only inputs are the few numbers shown, and most combinations recur from one version to the
# next (the 5th in line after a call reads as the 6th did before): each is rendered once per
# process (bounded; lru_cache is thread-safe).
@functools.lru_cache(maxsize=4096)
def _render_outlook(
    language: str, people_ahead: int, minutes: int | None, interval: tuple[int, int] | None
) -> str:
    with translation.override(language):
        return render_to_string(
            "queueing/ticket_status.html#outlook",
            {
                "outlook": {"people_ahead": people_ahead},
                "eta_minutes": minutes,
                "eta_range": interval,
            },
        )


def ticket_outlook_fragments(branch_id: int, version: int, language: str) -> dict:
    """{ticket id: (status, html of its #outlook)} for every queued ticket of the branch at
    this version: computed once per (branch, version, language) for every phone's stream, all
    workers and nodes (queueing/fragments.py). Each stream then sends its phone its own entry
    only (queueing/live.py). A ticket missing here is no longer queued (called, served, ...)."""

    def compute() -> dict[int, tuple[str, str]]:
        positions = selectors.outlook_positions(_branch_outlook_shared(branch_id, version))
        return {
            ticket_id: (
                TicketStatus.REMOTE.value if is_remote else TicketStatus.WAITING.value,
                outlook_html(language, ahead, eta_s),
            )
            for ticket_id, (is_remote, ahead, eta_s) in positions.items()
        }

    return fragments.shared(
        f"ticket-outlooks:{branch_id}:{version}:{language}", compute, ttl=STATUS_OUTLOOK_TTL_S
    )


def _remote_state(ticket: Ticket) -> dict:
    """What the page says of a ticket joined from the phone: not here yet (its place kept),
    its turn come (check in within N minutes), or expired (turn and grace passed)."""
    if not ticket.is_remote:
        return {}
    grace_left = None
    if ticket.status == TicketStatus.REMOTE and ticket.skipped_at is not None:
        grace_left = remote.grace_left_minutes(
            skipped_at=ticket.skipped_at,
            grace=timedelta(minutes=ticket.branch.remote_grace_minutes),
            now=timezone.now(),
        )
    return {
        "remote_turn_passed": grace_left is not None,
        "remote_grace_left": grace_left,
        "remote_expired": ticket.status == TicketStatus.NO_SHOW and ticket.checked_in_at is None,
    }


def _status_state(ticket: Ticket, requested_version: str | None = None) -> dict:
    outlook = _shared_outlook(ticket, requested_version)
    successor = (
        selectors.ticket_successor(ticket=ticket)
        if ticket.status == TicketStatus.TRANSFERRED
        else None
    )
    return {
        "ticket": ticket,
        "branch": ticket.branch,
        "outlook": outlook,
        "eta_minutes": _eta_minutes(outlook["eta_s"]),
        "eta_range": _eta_range(outlook),
        "is_final": ticket.status in FINAL,
        "go_to": _bilingual(GO_TO_COUNTER, counter=ticket.counter.number)
        if ticket.counter
        else None,
        "successor_url": reverse("queueing:ticket_status", args=[ticket_status_token(successor.pk)])
        if successor
        else None,
        "call_key": f"{ticket.pk}:{ticket.recall_count}" if ticket.called_at else "",
        **_remote_state(ticket),
    }


@rate_limited("public_page")
def ticket_status(request: HttpRequest, token: str) -> HttpResponse:
    ticket = _customer_ticket(token)
    if ticket is None:
        return render(request, "queueing/ticket_status_invalid.html", status=404)
    context = _status_state(ticket)
    context.update(
        token=token,
        # The stream carries this ticket's place and wait, and only this ticket's (live.py).
        live=live.live_context(request, ticket.branch_id, ticket_id=ticket.pk),
        state_url=reverse("queueing:ticket_status_state", args=[token]),
        # Other apps' links (reception's pre-filled form): queueing.extensions.
        page_links=ticket_page_links(ticket),
    )
    return render(request, "queueing/ticket_status.html", context)


@require_POST
@rate_limited("public_page")
def ticket_status_cancel(request: HttpRequest, token: str) -> HttpResponse:
    """The customer who joined from their phone gives their place up (a remote ticket only: a
    customer in the branch tells the lobby, which presses "customer left")."""
    ticket = _customer_ticket(token)
    if ticket is None:
        raise Http404
    # Checked in or called meanwhile: nothing to do, the page shows where the ticket is now.
    with contextlib.suppress(services.QueueError):
        services.ticket_cancel_remote(ticket_id=ticket.pk)
    return redirect("queueing:ticket_status", token=token)


@rate_limited("public_page")
def ticket_status_state(request: HttpRequest, token: str) -> HttpResponse:
    ticket = _customer_ticket(token)
    if ticket is None:
        raise Http404
    # ?v=: the queue version the page was told about (the key of the shared estimate).
    context = _status_state(ticket, request.GET.get("v"))
    # No context processors: the fragment shows nothing of the request or user, and every
    # phone of the branch asks for it after each change.
    response = HttpResponse(render_to_string("queueing/ticket_status.html#state", context))
    response["Cache-Control"] = "no-store"
    return response
