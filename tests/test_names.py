"""Names staff type in (branch, service) in the reader's language, and signs in the chosen
Chinese script."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.names import pick_name
from queueing import services


@pytest.mark.parametrize(
    ("language", "names", "expected"),
    [
        ("zh-hans", {"zh_hans": "简", "zh_hant": "繁", "en": "E"}, "简"),
        ("zh-hant", {"zh_hans": "简", "zh_hant": "繁", "en": "E"}, "繁"),
        ("zh-hant", {"zh_hans": "简", "zh_hant": "", "en": "E"}, "简"),
        ("en", {"zh_hans": "简", "zh_hant": "繁", "en": "E"}, "E"),
        ("en", {"zh_hans": "简", "zh_hant": "繁", "en": ""}, "简"),
        ("zh-hans", {"zh_hans": "", "zh_hant": "繁", "en": "E"}, "繁"),
    ],
)
def test_the_fallback_order(language, names, expected):
    assert pick_name(language, **names) == expected


@pytest.fixture
def named(branch, cash):
    branch.name, branch.name_zh_hant, branch.name_en = "示范支行", "示範支行", "Demo Branch"
    branch.save()
    cash.name_zh, cash.name_zh_hant, cash.name_en = "现金业务", "現金業務", "Cash"
    cash.save()
    return branch, cash


def test_models_answer_in_the_active_language(named):
    branch, cash = named
    with translation.override("zh-hant"):
        assert (branch.local_name, cash.display_name) == ("示範支行", "現金業務")
    with translation.override("en"):
        assert (branch.local_name, cash.display_name) == ("Demo Branch", "Cash")


@pytest.mark.django_db
def test_the_board_follows_the_chosen_chinese_script(named):
    branch, cash = named
    services.ticket_issue(branch=branch, service=cash)
    url = reverse("queueing:board", args=[branch.display_token])
    traditional = Client(HTTP_ACCEPT_LANGUAGE="zh-hant").get(url).content.decode()
    assert "示範支行" in traditional and "現金業務" in traditional
    assert 'lang="zh-Hant"' in traditional
    assert "Demo Branch" in traditional and "Cash" in traditional  # English beside it
    simplified = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get(url).content.decode()
    assert "示范支行" in simplified and "现金业务" in simplified


@pytest.mark.django_db
def test_the_printed_ticket_follows_the_chosen_chinese_script(client, named, lobby_manager):
    branch, cash = named
    ticket = services.ticket_issue(branch=branch, service=cash)
    client.force_login(lobby_manager)
    client.cookies["django_language"] = "zh-hant"
    html = client.get(reverse("queueing:ticket_print", args=[ticket.pk])).content.decode()
    assert "示範支行" in html and "現金業務" in html
