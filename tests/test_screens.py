"""Where each role starts, and the menu: every screen a role may use, and no other."""

import pytest
from django.urls import reverse

from accounts.models import Role

from .factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def menu_links(html: str) -> set[str]:
    nav = html.split('<nav class="nav">', 1)[1].split("</nav>", 1)[0]
    return {part.split('"', 1)[0] for part in nav.split('href="')[1:]}


@pytest.mark.parametrize(
    ("role", "lands_on", "menu"),
    [
        (
            Role.LOBBY_MANAGER,
            "reception:lobby",
            {
                "reception:lobby",
                "reception:overview",
                "reception:appointments",
                "crm:search",
                "crm:reminders_mine",
                "crm:complaints",
                "quality:kb_list",
                "quality:standard_list",
                "quality:findings",
            },
        ),
        (
            Role.TELLER,
            "reception:counters",
            {
                "reception:counters",
                "crm:search",
                "crm:reminders_mine",
                "crm:complaints",
                "kpi:mine",
                "quality:kb_list",
                "quality:standard_list",
                "quality:findings",
            },
        ),
        (
            Role.BRANCH_HEAD,
            "kpi:today",
            {
                "kpi:today",
                "reception:overview",
                "reception:appointments",
                "reception:errors",
                "crm:search",
                "crm:reminders_mine",
                "crm:complaints",
                "kpi:report",
                "kpi:staffing",
                "quality:kb_list",
                "quality:standard_list",
                "quality:inspections",
                "quality:findings",
                "quality:training",
                "quality:duty",
            },
        ),
    ],
)
def test_each_role_starts_at_its_work_and_its_menu_has_every_screen_it_may_use(
    client, branch, role, lands_on, menu
):
    user = UserFactory(username=f"u-{role}")
    MembershipFactory(user=user, branch=branch, role=role)
    client.force_login(user)
    start = client.get(reverse("home"))
    assert start.status_code == 302 and start.url == reverse(lands_on)
    page = client.get(reverse(lands_on))
    assert menu_links(page.content.decode()) == {reverse(name) for name in menu}
    for name in menu:
        assert client.get(reverse(name)).status_code == 200


def test_a_branch_administrator_chooses_among_all_screens(client, branch):
    admin = UserFactory(username="branch-admin", is_staff=True)
    MembershipFactory(user=admin, branch=branch, role=Role.ADMIN)
    client.force_login(admin)
    start = client.get(reverse("home"))
    assert start.status_code == 200
    html = start.content.decode()
    screens = (
        "reception:lobby",
        "reception:overview",
        "reception:appointments",
        "reception:counters",
        "crm:search",
        "crm:reminders_mine",
        "crm:complaints",
        "kpi:today",
        "kpi:report",
        "kpi:staffing",
        "reception:errors",
        "quality:kb_list",
        "quality:standard_list",
        "quality:inspections",
        "quality:findings",
        "quality:training",
        "quality:duty",
        "admin:index",
    )
    for name in screens:
        assert f'href="{reverse(name)}"' in html
    assert menu_links(html) == {reverse(n) for n in screens}


@pytest.mark.parametrize(
    ("region_role", "lands_on", "menu"),
    [
        (
            "head",
            "kpi:region",
            {
                "kpi:region",
                "kpi:report",
                "crm:customers",
                "crm:complaints",
                "quality:kb_list",
                "quality:standard_list",
                "quality:inspections",
                "quality:findings",
                "quality:benchmark",
            },
        ),
        (
            "inspector",
            "quality:inspections",
            {
                "quality:kb_list",
                "quality:standard_list",
                "quality:inspections",
                "quality:findings",
                "quality:benchmark",
            },
        ),
    ],
)
def test_who_works_over_a_region_starts_at_its_work_with_its_menu(
    client, branch, region_role, lands_on, menu
):
    """A regional head or an inspector holds no branch role: the home page and the menu still
    lead to their work (the region ranking, the inspections)."""
    from .factories import RegionFactory, RegionMembershipFactory

    region = RegionFactory()
    branch.region = region
    branch.save(update_fields=["region"])
    user = UserFactory(username=f"region-{region_role}")
    RegionMembershipFactory(user=user, region=region, role=region_role)
    client.force_login(user)
    start = client.get(reverse("home"))
    assert start.status_code == 302 and start.url == reverse(lands_on)
    page = client.get(reverse(lands_on))
    assert page.status_code == 200
    assert menu_links(page.content.decode()) == {reverse(name) for name in menu}


def test_every_screen_the_readme_names_exists(client):
    """The README's screen table: each path it names resolves (no 404 for a reader)."""
    import re
    from pathlib import Path

    from django.urls import Resolver404, resolve

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    paths = re.findall(r"^\| [^|`]*`(/[^`]*)`", readme, flags=re.MULTILINE)
    assert len(paths) >= 10
    for path in paths:
        concrete = re.sub(r"<[^>]+>", "x1", path).replace("/x1/", "/1/")
        try:
            resolve(concrete)
        except Resolver404:
            pytest.fail(f"README names {path}, which is not a page")


def test_the_top_bar_names_the_role_in_the_reader_s_script(client, branch):
    user = UserFactory(username="u-teller", first_name="李明")
    MembershipFactory(user=user, branch=branch, role=Role.BRANCH_HEAD)
    client.force_login(user)
    client.cookies["django_language"] = "zh-hant"
    html = client.get(reverse("kpi:today")).content.decode()
    assert "李明" in html and "網點負責人" in html  # Traditional, from the catalogue
    client.cookies["django_language"] = "en"
    assert "Branch head" in client.get(reverse("kpi:today")).content.decode()


@pytest.mark.parametrize(
    ("path", "current"),
    [
        ("/crm/complaints/", "/crm/complaints/"),
        ("/crm/reminders/mine/", "/crm/reminders/mine/"),
        ("/crm/", "/crm/"),
    ],
)
def test_the_menu_marks_only_the_most_specific_screen_current(client, branch, path, current):
    """Customers covers /crm/; on the complaints page only Complaints is marked."""
    import re

    head = UserFactory(username="head-menu")
    MembershipFactory(user=head, branch=branch, role=Role.BRANCH_HEAD)
    MembershipFactory(user=head, branch=branch, role=Role.TELLER)
    client.force_login(head)
    html = client.get(path).content.decode()
    marked = re.findall(r'<a href="([^"]+)" class="current" aria-current="page">', html)
    assert marked == [current]
