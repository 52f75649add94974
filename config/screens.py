"""The screens of BranchFlow and who may use them: one list for the start page and the menu.

`roles` says which branch roles may open a screen (a branch administrator may open every
screen its role checks allow, as accounts.access.resolve_staff does); `staff_only` screens also
need Django's is_staff (the admin site).
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from accounts.models import RegionRole, Role


@dataclass(frozen=True)
class Screen:
    key: str
    url_name: str
    title: str
    description: str
    roles: frozenset[str]
    paths: tuple[str, ...]  # URL prefixes that belong to this screen (the menu marks it current)
    staff_only: bool = False
    # Roles over a region (RegionRole) that may use the screen: regional heads and inspectors
    # usually hold no branch role; the screen itself checks which branches they may see.
    region_roles: frozenset[str] = frozenset()
    # A place to work all day. Someone with one such screen starts there; the others (look-ups,
    # settings) are in the menu.
    workplace: bool = True


ALL_ROLES = frozenset(Role.values)
ALL_REGION_ROLES = frozenset(RegionRole.values)
BRANCH_HEADS = frozenset({Role.BRANCH_HEAD, Role.ADMIN})

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
        "region_customers",
        "crm:customers",
        _("Customers"),
        _("Customers and interactions of the region's branches, read-only"),
        frozenset(),
        ("/crm/customers/", "/crm/interactions/"),
        workplace=False,
        region_roles=frozenset({RegionRole.HEAD}),
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
        region_roles=frozenset({RegionRole.HEAD}),
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
        "my_figures",
        "kpi:mine",
        _("My figures"),
        _("My figures: customers served, waits, handling, errors and ratings"),
        frozenset({Role.TELLER}),
        ("/kpi/me/",),
        workplace=False,
    ),
    Screen(
        "region",
        "kpi:region",
        _("Region"),
        _("Region: the branches ranked on a KPI, the best and the worst named"),
        frozenset(),
        ("/kpi/region/",),
        region_roles=frozenset({RegionRole.HEAD}),
    ),
    Screen(
        "report",
        "kpi:report",
        _("Monthly report"),
        _("Monthly report: the month against target and the month before, to print"),
        BRANCH_HEADS,
        ("/kpi/report/",),
        workplace=False,
        region_roles=frozenset({RegionRole.HEAD}),
    ),
    Screen(
        "staffing",
        "kpi:staffing",
        _("Staffing"),
        _("Staffing advice: counters needed per hour of the coming week"),
        BRANCH_HEADS,
        ("/kpi/staffing/",),
        workplace=False,
    ),
    Screen(
        "knowledge",
        "quality:kb_list",
        _("Knowledge base"),
        _("Knowledge base: questions and answers by service, search, flag what is outdated"),
        ALL_ROLES,
        ("/quality/kb/",),
        workplace=False,
        region_roles=ALL_REGION_ROLES,
    ),
    Screen(
        "standards",
        "quality:standard_list",
        _("Standards"),
        _("Service standards: the rules in force, read and acknowledged"),
        ALL_ROLES,
        ("/quality/standards/",),
        workplace=False,
        region_roles=ALL_REGION_ROLES,
    ),
    Screen(
        "inspections",
        "quality:inspections",
        _("Inspections"),
        _("Inspections: mystery shoppers, remote and on-site checks, self-checks, coverage"),
        BRANCH_HEADS,
        ("/quality/inspections/", "/quality/coverage/", "/quality/attachments/"),
        workplace=False,
        region_roles=ALL_REGION_ROLES,
    ),
    Screen(
        "findings",
        "quality:findings",
        _("Findings"),
        _("Findings to fix: owner, deadline, evidence, re-check"),
        frozenset({Role.LOBBY_MANAGER, Role.TELLER, Role.BRANCH_HEAD, Role.ADMIN}),
        ("/quality/findings/",),
        workplace=False,
        region_roles=ALL_REGION_ROLES,
    ),
    Screen(
        "benchmark",
        "quality:benchmark",
        _("Benchmarking"),
        _("Benchmarking: branches ranked by inspections, KPIs and satisfaction"),
        frozenset(),
        ("/quality/benchmark/",),
        region_roles=ALL_REGION_ROLES,
    ),
    Screen(
        "training",
        "quality:training",
        _("Training"),
        _("Training: sessions, attendance and participation per quarter"),
        BRANCH_HEADS,
        ("/quality/training/",),
        workplace=False,
    ),
    Screen(
        "duty",
        "quality:duty",
        _("Lobby duty"),
        _("Lobby duty roster: who is on duty in the lobby, and when"),
        BRANCH_HEADS,
        ("/quality/duty/",),
        workplace=False,
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


def screens_for(
    *, roles: set[str], is_staff: bool, region_roles: set[str] | frozenset[str] = frozenset()
) -> list[Screen]:
    return [
        screen
        for screen in SCREENS
        if (screen.roles & roles or screen.region_roles & region_roles)
        and (is_staff or not screen.staff_only)
    ]
