"""Knowledge base reads: what a branch's staff may read, search, the reviewer's queue."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import translation

from accounts.models import Branch
from accounts.names import pick_name

from .. import search
from ..models import EntryStatus, KnowledgeEntry, KnowledgeFlag, KnowledgeRevision

__all__ = [
    "KbRow",
    "kb_entries_for_staff",
    "kb_entry_for_staff",
    "kb_open_flags",
    "kb_readable_entries",
    "kb_review_queue",
    "kb_revisions",
    "kb_row",
    "kb_search",
]

# Candidates fetched before ranking: bounded, so a one-character query over a big base stays
# one cheap query (the ranking is done in Python on at most this many rows).
CANDIDATES = 200


@dataclass(frozen=True)
class KbRow:
    """An entry as a reader sees it: the last published text, in the reader's language."""

    entry: KnowledgeEntry
    question: str
    answer: str
    service_codes: list[str]
    tags: str
    version: int
    last_reviewed_at: datetime | None
    open_flags: int = 0


def _visible_to(branch: Branch) -> Q:
    return Q(branch__isnull=True) | Q(branch=branch)


def kb_readable_entries(*, branch: Branch) -> QuerySet[KnowledgeEntry]:
    """Entries a branch's staff read: bank-wide and the branch's own, published at least once
    (an edited entry's readers see its last revision until the change is published)."""
    return KnowledgeEntry.objects.filter(_visible_to(branch), version__gte=1).exclude(
        status=EntryStatus.ARCHIVED
    )


def kb_entries_for_staff(*, branch: Branch, may_edit: bool) -> QuerySet[KnowledgeEntry]:
    """What the list shows: readers the readable ones; writers their drafts as well."""
    if may_edit:
        return KnowledgeEntry.objects.filter(_visible_to(branch))
    return kb_readable_entries(branch=branch)


def kb_entry_for_staff(*, branch: Branch, pk: int, may_edit: bool) -> KnowledgeEntry | None:
    return (
        kb_entries_for_staff(branch=branch, may_edit=may_edit)
        .select_related("created_by", "reviewed_by", "submitted_by")
        .filter(pk=pk)
        .first()
    )


def _published_content(entry: KnowledgeEntry, revision: KnowledgeRevision | None) -> dict:
    if entry.status == EntryStatus.PUBLISHED or revision is None:
        return {
            "question_zh": entry.question_zh,
            "question_zh_hant": entry.question_zh_hant,
            "question_en": entry.question_en,
            "answer_zh": entry.answer_zh,
            "answer_zh_hant": entry.answer_zh_hant,
            "answer_en": entry.answer_en,
            "service_codes": entry.service_codes,
            "tags": entry.tags,
        }
    return revision.content


def kb_row(
    entry: KnowledgeEntry,
    *,
    language: str | None = None,
    revision: KnowledgeRevision | None = None,
    working_copy: bool = False,
) -> KbRow:
    """The entry in `language` (default: the active one; zh-Hant and en fall back to zh-Hans).
    `working_copy`: the current text whatever its status (for its writers)."""
    language = language or translation.get_language() or "zh-hans"
    if working_copy:
        content = _published_content(entry, None)
    else:
        if revision is None and entry.status != EntryStatus.PUBLISHED:
            revision = entry.revisions.order_by("-number").first()
        content = _published_content(entry, revision)
    return KbRow(
        entry=entry,
        question=pick_name(
            language,
            zh_hans=content.get("question_zh", ""),
            zh_hant=content.get("question_zh_hant", ""),
            en=content.get("question_en", ""),
        ),
        answer=pick_name(
            language,
            zh_hans=content.get("answer_zh", ""),
            zh_hant=content.get("answer_zh_hant", ""),
            en=content.get("answer_en", ""),
        ),
        service_codes=list(content.get("service_codes") or []),
        tags=content.get("tags", ""),
        version=entry.version,
        last_reviewed_at=entry.last_reviewed_at,
        open_flags=getattr(entry, "open_flag_count", 0),
    )


def kb_search(
    *,
    branch: Branch,
    query: str = "",
    service_code: str = "",
    language: str | None = None,
    limit: int = 20,
) -> list[KbRow]:
    """Readable entries matching every term of `query` (and about `service_code` if given),
    best first (search.rank); no query: the service's entries, last reviewed first."""
    entries = kb_readable_entries(branch=branch)
    exact_service = True
    if service_code:
        if connection.features.supports_json_field_contains:  # PostgreSQL: JSON containment
            entries = entries.filter(service_codes__contains=[service_code])
        else:  # SQLite (development): the code is in the search text; exact check below
            entries = entries.filter(search_text__contains=search.fold(service_code))
            exact_service = False
    terms = search.parse_query(query)
    for term in terms:
        # search_text is folded at save: a plain LIKE, no lower() per row.
        entries = entries.filter(search_text__contains=term)
    entries = entries.annotate(
        open_flag_count=Count("flags", filter=Q(flags__resolved_at__isnull=True))
    ).order_by("-last_reviewed_at", "-pk")
    candidates = list(entries[: CANDIDATES if terms or not exact_service else limit])
    if not exact_service:
        candidates = [e for e in candidates if service_code in (e.service_codes or [])]
    revisions = _latest_revisions([e for e in candidates if e.status != EntryStatus.PUBLISHED])
    rows = [kb_row(e, language=language, revision=revisions.get(e.pk)) for e in candidates]
    if terms:
        rows.sort(key=lambda row: search.rank(row.question, row.entry.search_text, terms))
    return rows[:limit]


def _latest_revisions(entries: list[KnowledgeEntry]) -> dict[int, KnowledgeRevision]:
    if not entries:
        return {}
    latest: dict[int, KnowledgeRevision] = {}
    for revision in KnowledgeRevision.objects.filter(entry__in=entries).order_by(
        "entry", "-number"
    ):
        latest.setdefault(revision.entry_id, revision)
    return latest


def kb_revisions(entry: KnowledgeEntry) -> QuerySet[KnowledgeRevision]:
    return entry.revisions.select_related("published_by").order_by("-number")


def kb_open_flags(entry: KnowledgeEntry) -> QuerySet[KnowledgeFlag]:
    return entry.flags.filter(resolved_at__isnull=True).select_related("flagged_by", "branch")


def kb_review_queue(*, user: AbstractBaseUser, branch: Branch) -> dict:
    """What `user` reviews from `branch`: submissions waiting and open flags (bank-wide
    entries only for the platform operator)."""
    scope = Q(branch=branch) | (Q(branch__isnull=True) if user.is_superuser else Q(pk__in=[]))
    waiting = (
        KnowledgeEntry.objects.filter(scope, status=EntryStatus.IN_REVIEW)
        .select_related("submitted_by")
        .order_by("updated_at")
    )
    flags = (
        KnowledgeFlag.objects.filter(resolved_at__isnull=True)
        .filter(
            Q(entry__branch=branch)
            | (Q(entry__branch__isnull=True) if user.is_superuser else Q(pk__in=[]))
        )
        .select_related("entry", "flagged_by", "branch")
        .order_by("flagged_at")
    )
    return {"waiting": list(waiting[:200]), "flags": list(flags[:200])}
