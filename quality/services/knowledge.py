"""Knowledge base (知识库): drafts, review, publish, "reviewed", outdated flags.

Who may do what (`may_edit`, `may_review`):
- a branch's own entries: the branch head and the branch administrator write and review them;
- bank-wide entries (branch empty): the platform operator (superuser) alone;
- nobody approves their own submission: the one who submitted a draft cannot publish it;
- anyone on the staff of a branch that can read an entry may flag it as outdated.
"""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError
from accounts.models import Branch, Role
from accounts.selectors import roles_at_branch

from .. import search
from ..models import EntryStatus, KnowledgeEntry, KnowledgeFlag, KnowledgeRevision

__all__ = [
    "KB_CONTENT_FIELDS",
    "KnowledgeError",
    "entry_create_draft",
    "entry_flag",
    "entry_mark_reviewed",
    "entry_publish",
    "entry_return_to_draft",
    "entry_submit",
    "entry_update",
    "flag_resolve",
    "kb_may_edit",
    "kb_may_review",
    "knowledge_search_text",
]

WRITER_ROLES = {Role.BRANCH_HEAD, Role.ADMIN}
KB_CONTENT_FIELDS = (
    "question_zh",
    "question_zh_hant",
    "question_en",
    "answer_zh",
    "answer_zh_hant",
    "answer_en",
    "tags",
    "service_codes",
)


class KnowledgeError(DomainError):
    pass


def kb_may_edit(user: AbstractBaseUser, branch: Branch | None) -> bool:
    """May `user` write entries of `branch` (None: bank-wide)?"""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    if branch is None:
        return False
    return bool(roles_at_branch(user=user, branch=branch) & WRITER_ROLES)


def kb_may_review(user: AbstractBaseUser, entry: KnowledgeEntry) -> bool:
    """May `user` publish, mark reviewed and resolve flags of `entry` (the author's own
    submission aside: entry_publish checks that)?"""
    return kb_may_edit(user, entry.branch)


def knowledge_search_text(entry: KnowledgeEntry) -> str:
    return search.build_search_text(
        [
            entry.question_zh,
            entry.question_zh_hant,
            entry.question_en,
            entry.answer_zh,
            entry.answer_zh_hant,
            entry.answer_en,
            entry.tags,
            " ".join(entry.service_codes or []),
        ]
    )


def _clean_codes(codes) -> list[str]:
    return sorted({str(code).strip() for code in (codes or []) if str(code).strip()})


def _save(entry: KnowledgeEntry, now: datetime) -> None:
    entry.service_codes = _clean_codes(entry.service_codes)
    # Search finds what readers read: once an entry has been published, its search text is that
    # of the published version until a change is published (an edit in progress must not make
    # a search match text the reader is then not shown).
    if entry.version == 0 or entry.status == EntryStatus.PUBLISHED:
        entry.search_text = knowledge_search_text(entry)
    entry.updated_at = now
    entry.save()


def _locked(entry: KnowledgeEntry) -> KnowledgeEntry:
    return KnowledgeEntry.objects.select_for_update().get(pk=entry.pk)


@transaction.atomic
def entry_create_draft(
    *, branch: Branch | None, by: AbstractBaseUser, now: datetime | None = None, **content
) -> KnowledgeEntry:
    """A new draft of `branch` (None: bank-wide) with `content` (KB_CONTENT_FIELDS)."""
    if not kb_may_edit(by, branch):
        raise KnowledgeError(_("You may not write knowledge base entries here."), "forbidden")
    now = now or timezone.now()
    unknown = set(content) - set(KB_CONTENT_FIELDS)
    if unknown:
        raise KnowledgeError(_("Unknown fields."), "invalid")
    if (
        not (content.get("question_zh") or "").strip()
        or not (content.get("answer_zh") or "").strip()
    ):
        raise KnowledgeError(_("The Chinese question and answer are required."), "question_zh")
    entry = KnowledgeEntry(
        branch=branch, created_by=by, created_at=now, status=EntryStatus.DRAFT, **content
    )
    _save(entry, now)
    return entry


@transaction.atomic
def entry_update(
    entry: KnowledgeEntry, *, by: AbstractBaseUser, now: datetime | None = None, **content
) -> KnowledgeEntry:
    """Change the working copy. A published entry goes back to draft: readers keep seeing the
    last published version (its revision) until the change is published."""
    entry = _locked(entry)
    if not kb_may_edit(by, entry.branch):
        raise KnowledgeError(_("You may not edit this entry."), "forbidden")
    if entry.status == EntryStatus.ARCHIVED:
        raise KnowledgeError(_("This entry is archived."), "status")
    unknown = set(content) - set(KB_CONTENT_FIELDS)
    if unknown:
        raise KnowledgeError(_("Unknown fields."), "invalid")
    for name, value in content.items():
        setattr(entry, name, value)
    if not entry.question_zh.strip() or not entry.answer_zh.strip():
        raise KnowledgeError(_("The Chinese question and answer are required."), "question_zh")
    entry.status = EntryStatus.DRAFT
    entry.submitted_by = None
    _save(entry, now or timezone.now())
    return entry


@transaction.atomic
def entry_submit(
    entry: KnowledgeEntry, *, by: AbstractBaseUser, now: datetime | None = None
) -> KnowledgeEntry:
    entry = _locked(entry)
    if not kb_may_edit(by, entry.branch):
        raise KnowledgeError(_("You may not submit this entry."), "forbidden")
    if entry.status != EntryStatus.DRAFT:
        raise KnowledgeError(_("Only a draft can be submitted for review."), "status")
    entry.status = EntryStatus.IN_REVIEW
    entry.submitted_by = by
    _save(entry, now or timezone.now())
    return entry


@transaction.atomic
def entry_return_to_draft(
    entry: KnowledgeEntry, *, by: AbstractBaseUser, now: datetime | None = None
) -> KnowledgeEntry:
    """The reviewer sends a submission back."""
    entry = _locked(entry)
    if not kb_may_review(by, entry):
        raise KnowledgeError(_("You may not review this entry."), "forbidden")
    if entry.status != EntryStatus.IN_REVIEW:
        raise KnowledgeError(_("This entry is not in review."), "status")
    entry.status = EntryStatus.DRAFT
    _save(entry, now or timezone.now())
    return entry


@transaction.atomic
def entry_publish(
    entry: KnowledgeEntry, *, by: AbstractBaseUser, note: str = "", now: datetime | None = None
) -> KnowledgeRevision:
    """Approve a submission: a new frozen revision (version + 1), reviewed now."""
    entry = _locked(entry)
    if not kb_may_review(by, entry):
        raise KnowledgeError(_("You may not publish this entry."), "forbidden")
    if entry.status != EntryStatus.IN_REVIEW:
        raise KnowledgeError(_("Only an entry in review can be published."), "status")
    if entry.submitted_by_id == by.pk:
        raise KnowledgeError(
            _("You submitted this entry: another reviewer must publish it."), "own_submission"
        )
    now = now or timezone.now()
    entry.version += 1
    revision = KnowledgeRevision.objects.create(
        entry=entry,
        number=entry.version,
        content={name: getattr(entry, name) for name in KB_CONTENT_FIELDS},
        published_at=now,
        published_by=by,
        note=(note or "")[:200],
    )
    entry.status = EntryStatus.PUBLISHED
    entry.published_at = now
    entry.last_reviewed_at = now
    entry.reviewed_by = by
    _save(entry, now)
    return revision


@transaction.atomic
def entry_mark_reviewed(
    entry: KnowledgeEntry, *, by: AbstractBaseUser, now: datetime | None = None
) -> KnowledgeEntry:
    """Still right as it is: the date moves, no new version."""
    entry = _locked(entry)
    if not kb_may_review(by, entry):
        raise KnowledgeError(_("You may not review this entry."), "forbidden")
    if entry.version < 1:
        raise KnowledgeError(_("Only a published entry can be marked reviewed."), "status")
    entry.last_reviewed_at = now or timezone.now()
    entry.reviewed_by = by
    entry.save(update_fields=["last_reviewed_at", "reviewed_by"])
    return entry


@transaction.atomic
def entry_flag(
    entry: KnowledgeEntry,
    *,
    by: AbstractBaseUser,
    branch: Branch,
    note: str,
    now: datetime | None = None,
) -> KnowledgeFlag:
    """Anyone on the staff says the entry is outdated (the caller checked they may read it)."""
    note = (note or "").strip()
    if not note:
        raise KnowledgeError(_("Say what is outdated."), "note")
    if entry.branch_id is not None and entry.branch_id != branch.pk:
        raise KnowledgeError(_("This entry belongs to another branch."), "forbidden")
    return KnowledgeFlag.objects.create(
        entry=entry, branch=branch, flagged_by=by, flagged_at=now or timezone.now(), note=note[:300]
    )


@transaction.atomic
def flag_resolve(
    flag: KnowledgeFlag, *, by: AbstractBaseUser, resolution: str, now: datetime | None = None
) -> KnowledgeFlag:
    flag = KnowledgeFlag.objects.select_for_update().select_related("entry").get(pk=flag.pk)
    if not kb_may_review(by, flag.entry):
        raise KnowledgeError(_("You may not resolve this flag."), "forbidden")
    if flag.resolved_at is not None:
        raise KnowledgeError(_("This flag is resolved already."), "status")
    flag.resolved_at = now or timezone.now()
    flag.resolved_by = by
    flag.resolution = (resolution or "").strip()[:300]
    flag.save(update_fields=["resolved_at", "resolved_by", "resolution"])
    return flag
