"""Knowledge base: search (Chinese, two characters, English any case), review rules, versions,
flags, the counter panel, the API."""

import pytest
from django.urls import reverse

from accounts.models import Role
from quality import search, selectors, services
from quality.models import EntryStatus, KnowledgeEntry, KnowledgeFlag
from quality.services.knowledge import KnowledgeError
from tests.factories import MembershipFactory, UserFactory
from tests.factories_quality_kb import published_entry, superuser

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(branch):
    user = UserFactory(username="branchadmin")
    MembershipFactory(user=user, branch=branch, role=Role.ADMIN)
    return user


@pytest.fixture
def platform(db):
    return superuser()


@pytest.fixture
def card_entry(branch, branch_head, admin_user):
    return published_entry(
        branch=branch,
        author=admin_user,
        reviewer=branch_head,
        question_en="What to do when a bank card is lost",
        answer_en="Bring your ID to a counter.",
        service_codes=["cash"],
        tags="挂失 卡",
    )


# --- pure search helpers ---------------------------------------------------------------------


def test_fold_and_parse_query_normalise_width_and_case():
    assert search.parse_query("  ＬＯＳＴ   Card  lost ") == ["lost", "card"]
    assert search.parse_query("x " * 50) == ["x"]
    assert len(search.parse_query(" ".join(f"t{i}" for i in range(20)))) == search.MAX_TERMS


def test_rank_prefers_term_in_question_and_early():
    terms = ["挂失"]
    early = search.rank("挂失要带什么", "", terms)
    late = search.rank("银行卡挂失怎么办", "", terms)
    missing = search.rank("开户", "挂失", terms)
    assert early < late < missing


# --- search ----------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["挂失", "挂失 银行卡", "卡挂", "LOST", "lost card", "Bank"])
def test_search_finds_chinese_two_characters_and_english_any_case(branch, card_entry, query):
    rows = selectors.kb_search(branch=branch, query=query, language="zh-hans")
    assert [row.entry.pk for row in rows] == [card_entry.pk]
    assert rows[0].question == "银行卡挂失怎么办"


def test_search_needs_every_term(branch, card_entry):
    assert selectors.kb_search(branch=branch, query="挂失 贷款") == []


def test_reader_language_with_fallback(branch, card_entry, branch_head, admin_user):
    assert selectors.kb_row(card_entry, language="en").question.startswith("What to do")
    # No Traditional text: the Simplified one.
    assert selectors.kb_row(card_entry, language="zh-hant").question == "银行卡挂失怎么办"


def test_drafts_and_other_branches_are_not_readable(
    branch, other_branch, branch_head, admin_user, card_entry
):
    services.entry_create_draft(branch=branch, by=admin_user, question_zh="挂失草稿", answer_zh="x")
    other_head = UserFactory(username="otherhead")
    other_admin = UserFactory(username="otheradmin")
    MembershipFactory(user=other_head, branch=other_branch, role=Role.BRANCH_HEAD)
    MembershipFactory(user=other_admin, branch=other_branch, role=Role.ADMIN)
    published_entry(
        branch=other_branch, author=other_admin, reviewer=other_head, question_zh="挂失别行"
    )
    rows = selectors.kb_search(branch=branch, query="挂失")
    assert [row.entry.pk for row in rows] == [card_entry.pk]


def test_bank_wide_entries_are_read_everywhere(branch, other_branch, platform):
    second = superuser("platform2")
    entry = published_entry(author=platform, reviewer=second, question_zh="存款利率是多少")
    for each in (branch, other_branch):
        assert [r.entry.pk for r in selectors.kb_search(branch=each, query="利率")] == [entry.pk]


def test_search_finds_what_readers_read_until_a_change_is_published(
    branch, admin_user, branch_head, card_entry
):
    """An edit in progress does not change what search matches: readers are shown the published
    version, so a match on the draft's words would show them an entry without those words."""
    services.entry_update(card_entry, by=admin_user, tags="补办")
    card_entry.refresh_from_db()
    assert "补办" not in card_entry.search_text and "cash" in card_entry.search_text
    assert selectors.kb_search(branch=branch, query="补办") == []
    services.entry_submit(card_entry, by=admin_user)
    services.entry_publish(card_entry, by=branch_head)
    card_entry.refresh_from_db()
    assert "补办" in card_entry.search_text
    assert [r.entry.pk for r in selectors.kb_search(branch=branch, query="补办")] == [card_entry.pk]


# --- review rules ----------------------------------------------------------------------------


def test_publish_makes_a_revision_and_author_cannot_approve_own(branch, admin_user, branch_head):
    entry = services.entry_create_draft(
        branch=branch, by=admin_user, question_zh="如何开户", answer_zh="带身份证。"
    )
    services.entry_submit(entry, by=admin_user)
    with pytest.raises(KnowledgeError) as refused:
        services.entry_publish(entry, by=admin_user)
    assert refused.value.code == "own_submission"
    revision = services.entry_publish(entry, by=branch_head, note="首版")
    entry.refresh_from_db()
    assert (entry.status, entry.version, revision.number) == (EntryStatus.PUBLISHED, 1, 1)
    assert entry.last_reviewed_at == revision.published_at


def test_teller_cannot_write_and_bank_wide_needs_platform(branch, teller, branch_head):
    with pytest.raises(KnowledgeError):
        services.entry_create_draft(branch=branch, by=teller, question_zh="q", answer_zh="a")
    with pytest.raises(KnowledgeError):
        services.entry_create_draft(branch=None, by=branch_head, question_zh="q", answer_zh="a")


def test_edit_keeps_readers_on_the_published_version(branch, admin_user, branch_head, card_entry):
    services.entry_update(card_entry, by=admin_user, answer_zh="新的答案")
    card_entry.refresh_from_db()
    assert card_entry.status == EntryStatus.DRAFT
    row = selectors.kb_search(branch=branch, query="挂失", language="zh-hans")[0]
    assert row.answer == "携带身份证到柜台办理挂失。"
    services.entry_submit(card_entry, by=admin_user)
    services.entry_publish(card_entry, by=branch_head)
    card_entry.refresh_from_db()
    assert card_entry.version == 2
    assert (
        selectors.kb_search(branch=branch, query="挂失", language="zh-hans")[0].answer == "新的答案"
    )
    assert list(card_entry.revisions.values_list("number", flat=True)) == [2, 1]


def test_mark_reviewed_moves_the_date_without_a_version(branch_head, card_entry):
    before = card_entry.last_reviewed_at
    services.entry_mark_reviewed(card_entry, by=branch_head)
    card_entry.refresh_from_db()
    assert card_entry.version == 1 and card_entry.last_reviewed_at > before


def test_any_staff_flags_and_the_reviewer_resolves(branch, teller, branch_head, card_entry):
    flag = services.entry_flag(card_entry, by=teller, branch=branch, note="手续费已变")
    queue = selectors.kb_review_queue(user=branch_head, branch=branch)
    assert [f.pk for f in queue["flags"]] == [flag.pk]
    with pytest.raises(KnowledgeError):
        services.flag_resolve(flag, by=teller, resolution="x")
    services.flag_resolve(flag, by=branch_head, resolution="已更新")
    assert KnowledgeFlag.objects.get(pk=flag.pk).resolved_at is not None
    assert selectors.kb_review_queue(user=branch_head, branch=branch)["flags"] == []


# --- pages -----------------------------------------------------------------------------------


def test_list_page_searches(client, teller, card_entry):
    client.force_login(teller)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("quality:kb_list"), {"q": "挂失"})
    assert response.status_code == 200
    assert "What to do when a bank card is lost" in response.content.decode()


def test_panel_shows_the_service_entries_and_searches_in_place(client, teller, card_entry):
    client.force_login(teller)
    client.cookies["django_language"] = "zh-hans"
    body = client.get(reverse("quality:kb_panel"), {"service": "cash"}).content.decode()
    assert "银行卡挂失怎么办" in body
    assert (
        "银行卡挂失怎么办"
        not in client.get(reverse("quality:kb_panel"), {"service": "loan"}).content.decode()
    )
    assert (
        "银行卡挂失怎么办"
        in client.get(
            reverse("quality:kb_panel"), {"service": "loan", "q": "挂失"}
        ).content.decode()
    )


def test_panel_query_budget(client, teller, card_entry, django_assert_max_num_queries):
    client.force_login(teller)
    client.get(reverse("quality:kb_panel"))  # warm the session / membership caches
    with django_assert_max_num_queries(8):
        assert client.get(reverse("quality:kb_panel"), {"q": "挂失"}).status_code == 200


def test_entry_page_actions(client, teller, branch_head, card_entry):
    client.force_login(teller)
    client.cookies["django_language"] = "en"
    url = reverse("quality:kb_entry", args=[card_entry.pk])
    page = client.get(url).content.decode()
    assert "Version history" in page
    client.post(url, {"action": "flag", "note": "费率变了"})
    assert KnowledgeFlag.objects.filter(entry=card_entry, resolved_at__isnull=True).count() == 1
    # a teller's "mark reviewed" is refused on the page, never a 500
    before = card_entry.last_reviewed_at
    assert client.post(url, {"action": "reviewed"}).status_code == 200
    card_entry.refresh_from_db()
    assert card_entry.last_reviewed_at == before


def test_other_branch_entry_is_404(client, outsider, card_entry):
    client.force_login(outsider)
    assert client.get(reverse("quality:kb_entry", args=[card_entry.pk])).status_code == 404


def test_new_entry_page_for_writers_only(client, teller, admin_user):
    client.force_login(teller)
    assert client.get(reverse("quality:kb_new")).status_code == 404
    client.force_login(admin_user)
    response = client.post(
        reverse("quality:kb_new"), {"question_zh": "如何转账", "answer_zh": "柜台办理。"}
    )
    assert response.status_code == 302
    assert KnowledgeEntry.objects.get(question_zh="如何转账").status == EntryStatus.DRAFT


def test_counter_screen_loads_the_panel(client, teller, counter, cash):
    from queueing import services as queue_services

    queue_services.ticket_issue(branch=counter.branch, service=cash)
    client.force_login(teller)
    client.post(reverse("reception:counter_action", args=[counter.pk]), {"action": "call"})
    page = client.get(reverse("reception:counter", args=[counter.pk])).content.decode()
    assert reverse("quality:kb_panel") + "?service=cash" in page


# --- API -------------------------------------------------------------------------------------


def test_api_search_create_submit_publish_flag(
    as_user, teller, admin_user, branch_head, card_entry
):
    found = as_user(teller).get("/api/quality/kb/entries/", {"q": "挂失"})
    assert found.status_code == 200 and [r["id"] for r in found.json()] == [card_entry.pk]
    assert (
        as_user(teller)
        .post("/api/quality/kb/entries/", {"question_zh": "q", "answer_zh": "a"}, format="json")
        .status_code
        == 403
    )
    created = as_user(admin_user).post(
        "/api/quality/kb/entries/",
        {"question_zh": "如何销户", "answer_zh": "柜台办理。", "service_codes": ["cash"]},
        format="json",
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    assert as_user(admin_user).post(f"/api/quality/kb/entries/{pk}/submit/").status_code == 200
    assert as_user(admin_user).post(f"/api/quality/kb/entries/{pk}/publish/").status_code == 400
    published = as_user(branch_head).post(f"/api/quality/kb/entries/{pk}/publish/")
    assert published.status_code == 200 and published.json()["version"] == 1
    flag = as_user(teller).post(
        f"/api/quality/kb/entries/{pk}/flag/", {"note": "过时"}, format="json"
    )
    assert flag.status_code == 201
    assert (
        as_user(teller)
        .post(f"/api/quality/kb/entries/{pk}/flag/", {"note": ""}, format="json")
        .status_code
        == 400
    )


def test_api_other_branch_entry_is_404(as_user, outsider, card_entry):
    assert as_user(outsider).get(f"/api/quality/kb/entries/{card_entry.pk}/").status_code == 404


def test_lobby_tablet_loads_the_panel_and_it_follows_the_chosen_service(
    client, lobby_manager, cash, card_entry
):
    client.force_login(lobby_manager)
    page = client.get(reverse("reception:lobby")).content.decode()
    assert reverse("quality:kb_panel") in page
    body = client.get(reverse("quality:kb_panel"), {"service_id": cash.pk}).content.decode()
    assert "data-kb-panel" in body and f'value="{cash.code}"' in body


def test_panel_survives_odd_input(client, teller, card_entry):
    client.force_login(teller)
    for params in ({"q": "%_" * 200}, {"service_id": "x"}, {"service": "'; --"}):
        assert client.get(reverse("quality:kb_panel"), params).status_code == 200
    # A NUL is refused before the view (400), never a database error.
    assert client.get(reverse("quality:kb_panel"), {"q": "\x00"}).status_code == 400
    assert search.parse_query("挂\x00失") == ["挂失"]


def test_admin_scoping_of_entries(client, branch, admin_user, platform, card_entry):
    second = superuser("platform3")
    bank_wide = published_entry(author=platform, reviewer=second, question_zh="全行条目")
    admin_user.is_staff = True
    admin_user.save()
    client.force_login(admin_user)
    listing = client.get("/admin/quality/knowledgeentry/")
    assert listing.status_code == 200
    body = listing.content.decode()
    assert "银行卡挂失怎么办" in body and "全行条目" not in body
    assert client.get(f"/admin/quality/knowledgeentry/{bank_wide.pk}/change/").status_code == 404
    client.force_login(platform)
    assert "全行条目" in client.get("/admin/quality/knowledgeentry/").content.decode()
    assert client.get("/admin/quality/servicestandard/").status_code == 200
    assert client.get("/admin/quality/standardversion/").status_code == 200
