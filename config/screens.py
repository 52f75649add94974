"""The screens of BranchFlow and who may use them: one list for the start page and the menu.

`roles` says which branch roles may open a screen (a branch administrator may open every
screen its role checks allow, as accounts.access.resolve_staff does); `staff_only` screens also
need Django's is_staff (the admin site).
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from accounts.models import Role


@dataclass(frozen=True)
class Screen:
    key: str
    url_name: str
    title: str
    description: str
    roles: frozenset[str]
    paths: tuple[str, ...]  # URL prefixes that belong to this screen (the menu marks it current)
    staff_only: bool = False
    # A place to work all day. Someone with one such screen starts there; the others (look-ups,
    # settings) are in the menu.
    workplace: bool = True


ALL_ROLES = frozenset(Role.values)

SCREENS = (
    Screen(
        "lobby",
        "reception:lobby",
        _("Lobby"),
        _("Lobby: greet and register"),
        frozenset({Role.LOBBY_MANAGER, Role.ADMIN}),
        ("/reception/lobby", "/reception/visits", "/queue/tickets/"),
    ),
    Screen(
        "overview",
        "reception:overview",
        _("Overview"),
        _("Lobby overview: queues, counters and alerts, live"),
        frozenset({Role.LOBBY_MANAGER, Role.BRANCH_HEAD, Role.ADMIN}),
        ("/reception/overview",),
        # Watched beside the lobby or today's figures: not where anyone starts their day.
        workplace=False,
    ),
    Screen(
        "appointments",
        "reception:appointments",
        _("Appointments"),
        _("Appointments: the day's bookings, book, check in, the QR poster"),
        frozenset({Role.LOBBY_MANAGER, Role.BRANCH_HEAD, Role.ADMIN}),
        ("/reception/appointments",),
        workplace=False,
    ),
    Screen(
        "counter",
        "reception:counters",
        _("Counter"),
        _("Counter: serve customers"),
        frozenset({Role.TELLER, Role.ADMIN}),
        ("/reception/counters",),
    ),
    Screen(
        "customers",
        "crm:search",
        _("Customers"),
        _("Customers: look up a customer and their history at this branch"),
        ALL_ROLES,
        ("/crm/",),
        workplace=False,
    ),
    Screen(
        "reminders",
        "crm:reminders_mine",
        _("Reminders"),
        _("Care reminders: mine to do, and the branch's overdue ones"),
        frozenset({Role.LOBBY_MANAGER, Role.TELLER, Role.BRANCH_HEAD, Role.ADMIN}),
        ("/crm/reminders/",),
        workplace=False,
    ),
    Screen(
        "complaints",
        "crm:complaints",
        _("Complaints"),
        _("Complaints: log, follow up within the deadlines, tell the customer, close"),
        frozenset({Role.LOBBY_MANAGER, Role.TELLER, Role.BRANCH_HEAD, Role.ADMIN}),
        ("/crm/complaints",),
        workplace=False,
    ),
    Screen(
        "today",
        "kpi:today",
        _("Today"),
        _("Branch today: figures"),
        frozenset({Role.BRANCH_HEAD, Role.ADMIN}),
        ("/kpi/",),
    ),
    Screen(
        "errors",
        "reception:errors",
        _("Errors"),
        _("Errors at the counters: per teller and service, and missed control points"),
        frozenset({Role.BRANCH_HEAD, Role.ADMIN}),
        ("/reception/errors",),
        workplace=False,
    ),
    Screen(
        "settings",
        "admin:index",
        _("Settings"),
        _("Settings: services, counters, staff and the audit trail"),
        frozenset({Role.ADMIN}),
        ("/admin/",),
        staff_only=True,
        workplace=False,
    ),
)


def screens_for(*, roles: set[str], is_staff: bool) -> list[Screen]:
    return [
        screen for screen in SCREENS if screen.roles & roles and (is_staff or not screen.staff_only)
    ]
