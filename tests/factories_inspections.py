"""Factories and fixtures of quality's inspections, findings, training and duty (helper I).

Test modules import the fixtures: `from .factories_inspections import *  # noqa: F403`."""

from datetime import date

import factory
import pytest

from accounts.models import Region, RegionMembership, RegionRole, Role
from quality.models import Checklist, ChecklistItem, InspectionKind, InspectionSchedule

from .factories import MembershipFactory, UserFactory

__all__ = [
    "ChecklistFactory",
    "ChecklistItemFactory",
    "jpeg_file",
    "mystery",
    "pdf_file",
    "q_head",
    "q_inspector",
    "q_media",
    "q_region",
    "q_regional_head",
    "q_teller",
    "quality_rows",
    "schedule_for",
]

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"x" * 64


class ChecklistFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Checklist

    code = factory.Sequence(lambda n: f"cl-{n}")
    kind = InspectionKind.MYSTERY_SHOPPER
    name_zh = factory.Sequence(lambda n: f"暗访清单{n}")
    name_en = factory.Sequence(lambda n: f"Mystery checklist {n}")


class ChecklistItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChecklistItem

    checklist = factory.SubFactory(ChecklistFactory)
    key = factory.Sequence(lambda n: f"item-{n}")
    category = "manner"
    text_zh = factory.Sequence(lambda n: f"检查项{n}")
    text_en = factory.Sequence(lambda n: f"Item {n}")
    weight = 1
    sort_order = factory.Sequence(lambda n: n)


def jpeg_file(name="photo.jpg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, JPEG, content_type="image/jpeg")


def pdf_file(name="evidence.pdf"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def schedule_for(branch, checklist, frequency="quarterly", starts_on=date(2026, 1, 1)):
    return InspectionSchedule.objects.create(
        branch=branch, checklist=checklist, frequency=frequency, starts_on=starts_on
    )


@pytest.fixture(autouse=True)
def q_media(settings, tmp_path):
    """Uploads go to a temporary directory, never var/media."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path


@pytest.fixture
def q_region(branch, other_branch):
    region = Region.objects.create(code="east", name="东区", name_en="East")
    for b in (branch, other_branch):
        b.region = region
        b.save(update_fields=["region"])
    return region


@pytest.fixture
def q_inspector(q_region):
    user = UserFactory(username="inspector", first_name="Ina")
    RegionMembership.objects.create(user=user, region=q_region, role=RegionRole.INSPECTOR)
    return user


@pytest.fixture
def q_regional_head(q_region):
    user = UserFactory(username="regional")
    RegionMembership.objects.create(user=user, region=q_region, role=RegionRole.HEAD)
    return user


@pytest.fixture
def q_head(branch):
    user = UserFactory(username="qhead", first_name="Hao")
    MembershipFactory(user=user, branch=branch, role=Role.BRANCH_HEAD)
    return user


@pytest.fixture
def q_teller(branch):
    user = UserFactory(username="qteller", first_name="Tian")
    MembershipFactory(user=user, branch=branch, role=Role.TELLER)
    return user


@pytest.fixture
def mystery(db):
    """A mystery-shopper checklist: greeting (manner, weight 2), tidy lobby (environment, photo
    required), queue explained (process, weight 1)."""
    checklist = ChecklistFactory(code="mystery", kind=InspectionKind.MYSTERY_SHOPPER)
    items = {
        "greet": ChecklistItemFactory(
            checklist=checklist, key="greet", category="manner", weight=2, text_en="Greets"
        ),
        "tidy": ChecklistItemFactory(
            checklist=checklist,
            key="tidy",
            category="environment",
            weight=1,
            evidence_required=True,
            text_en="Tidy lobby",
        ),
        "queue": ChecklistItemFactory(
            checklist=checklist, key="queue", category="process", weight=1, text_en="Explains"
        ),
    }
    return checklist, items


def quality_rows(branch, user):
    """One submitted self-check with a failed item (so a finding) and a training session at
    `branch`, started by `user` (a branch head or admin there): rows for the list endpoints."""
    from django.utils import timezone

    from quality import services

    checklist = ChecklistFactory(kind=InspectionKind.SELF_CHECK)
    item = ChecklistItemFactory(checklist=checklist)
    inspection = services.inspection_start(user=user, branch=branch, checklist=checklist)
    result = inspection.results.get(item=item)
    services.inspection_answer(
        inspection=inspection, user=user, result_id=result.pk, outcome="fail"
    )
    services.inspection_submit(inspection=inspection, user=user)
    services.training_session_create(
        user=user, branch=branch, title="Training", starts_at=timezone.now()
    )
    return inspection
