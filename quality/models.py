"""Service quality management: what the branch plans ask beyond the queue.

Knowledge base (知识库), service standards (操作规程) with read-and-acknowledge, inspections
(mystery shoppers, remote video checks, on-site inspections, self-checks) on checklists,
findings tracked until fixed (整改), training with attendance, and the branch head's lobby
duty (行长坐堂值班). quality depends on accounts; it reads other apps only through their
selectors, and none of them imports it.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Branch, Region

# --- Knowledge base --------------------------------------------------------------------------


class EntryStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


class KnowledgeEntry(models.Model):
    """A question and its answer. `branch` empty: the whole bank's; else one branch's own."""

    branch = models.ForeignKey(
        Branch, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # Service codes the entry is about (the counter and the tablet show the current service's).
    service_codes = models.JSONField(_("services"), default=list, blank=True)
    tags = models.CharField(_("tags"), max_length=200, blank=True)
    question_zh = models.CharField(_("question (Chinese)"), max_length=300)
    question_zh_hant = models.CharField(
        _("question (Traditional Chinese)"), max_length=300, blank=True
    )
    question_en = models.CharField(_("question (English)"), max_length=300, blank=True)
    answer_zh = models.TextField(_("answer (Chinese)"))
    answer_zh_hant = models.TextField(_("answer (Traditional Chinese)"), blank=True)
    answer_en = models.TextField(_("answer (English)"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=EntryStatus.choices, default=EntryStatus.DRAFT
    )
    version = models.PositiveIntegerField(_("version"), default=0)  # last published version
    # Everything searchable, flattened once per save (all three languages, tags, services):
    # the search index works on this one column.
    search_text = models.TextField(editable=False, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    last_reviewed_at = models.DateTimeField(_("last reviewed"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("knowledge base entry")
        verbose_name_plural = _("knowledge base entries")
        indexes = [models.Index(fields=["status", "branch"], name="kb_status_branch")]

    def __str__(self) -> str:
        return self.question_zh


class KnowledgeRevision(models.Model):
    """A published version of an entry, frozen: what staff read on that day."""

    entry = models.ForeignKey(KnowledgeEntry, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField(_("version"))
    content = models.JSONField(_("content"))  # the questions, answers, services and tags
    published_at = models.DateTimeField(_("published at"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("what changed"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("knowledge base version")
        verbose_name_plural = _("knowledge base versions")
        ordering = ["entry", "-number"]
        constraints = [models.UniqueConstraint(fields=["entry", "number"], name="uniq_kb_revision")]

    def __str__(self) -> str:
        return f"{self.entry_id} v{self.number}"


class KnowledgeFlag(models.Model):
    """A member of staff says an entry is outdated; the reviewer resolves it."""

    entry = models.ForeignKey(KnowledgeEntry, on_delete=models.CASCADE, related_name="flags")
    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+")
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    flagged_at = models.DateTimeField(_("flagged at"))
    note = models.CharField(_("what is outdated"), max_length=300)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(_("resolution"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("outdated flag")
        verbose_name_plural = _("outdated flags")
        indexes = [
            models.Index(
                fields=["entry"], condition=models.Q(resolved_at__isnull=True), name="kb_flag_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.entry_id}: {self.note}"


# --- Service standards (SOPs) ------------------------------------------------------------------


class ServiceStandard(models.Model):
    """A written standard for a service or a process, e.g. "SOP-CASH: cash deposit"."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    title_zh_hant = models.CharField(_("title (Traditional Chinese)"), max_length=200, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    service_codes = models.JSONField(_("services"), default=list, blank=True)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("service standard")
        verbose_name_plural = _("service standards")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.title_zh}"


class StandardVersion(models.Model):
    """One version of a standard; published versions are frozen, the effective one is the
    latest published whose effective date has come."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    standard = models.ForeignKey(ServiceStandard, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    effective_from = models.DateField(_("effective from"))
    summary = models.CharField(_("what changed"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("standard version")
        verbose_name_plural = _("standard versions")
        ordering = ["standard", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["standard", "number"], name="uniq_standard_version")
        ]

    def __str__(self) -> str:
        return f"{self.standard_id} v{self.number}"


class StandardClause(models.Model):
    """A numbered clause of a version ("3.2"). A control point at the counter names its clause
    by reference "<standard code> <number>" (reception.ControlPoint.clause_ref)."""

    version = models.ForeignKey(StandardVersion, on_delete=models.CASCADE, related_name="clauses")
    number = models.CharField(_("clause"), max_length=12)
    text_zh = models.TextField(_("text (Chinese)"))
    text_zh_hant = models.TextField(_("text (Traditional Chinese)"), blank=True)
    text_en = models.TextField(_("text (English)"), blank=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("clause")
        verbose_name_plural = _("clauses")
        ordering = ["version", "sort_order", "number"]
        constraints = [
            models.UniqueConstraint(fields=["version", "number"], name="uniq_standard_clause")
        ]

    def __str__(self) -> str:
        return self.number


class StandardAcknowledgement(models.Model):
    """A member of staff has read a version and says so: once per person and version."""

    version = models.ForeignKey(
        StandardVersion, on_delete=models.CASCADE, related_name="acknowledgements"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+")
    acknowledged_at = models.DateTimeField(_("read and acknowledged at"))

    class Meta:
        verbose_name = _("acknowledgement")
        verbose_name_plural = _("acknowledgements")
        constraints = [
            models.UniqueConstraint(fields=["version", "user"], name="uniq_standard_ack")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.version_id}"


# --- Inspections ------------------------------------------------------------------------------


class InspectionKind(models.TextChoices):
    MYSTERY_SHOPPER = "mystery", _("Mystery shopper")
    REMOTE_VIDEO = "remote", _("Remote video check")
    ON_SITE = "on_site", _("On-site inspection")
    SELF_CHECK = "self", _("Self-check")


class Checklist(models.Model):
    code = models.SlugField(_("code"), max_length=30, unique=True)
    kind = models.CharField(_("used for"), max_length=10, choices=InspectionKind.choices)
    name_zh = models.CharField(_("name (Chinese)"), max_length=120)
    name_zh_hant = models.CharField(_("name (Traditional Chinese)"), max_length=120, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("checklist")
        verbose_name_plural = _("checklists")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"


class ChecklistItem(models.Model):
    checklist = models.ForeignKey(Checklist, on_delete=models.CASCADE, related_name="items")
    key = models.SlugField(_("key"), max_length=40)
    # Category of the item (environment, manner, process, compliance ...): scores per category.
    category = models.SlugField(_("category"), max_length=30)
    text_zh = models.CharField(_("item (Chinese)"), max_length=300)
    text_zh_hant = models.CharField(_("item (Traditional Chinese)"), max_length=300, blank=True)
    text_en = models.CharField(_("item (English)"), max_length=300, blank=True)
    weight = models.PositiveSmallIntegerField(_("weight"), default=1)
    evidence_required = models.BooleanField(_("photo required"), default=False)
    clause_ref = models.CharField(_("standard clause"), max_length=50, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["checklist", "sort_order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["checklist", "key"], name="uniq_checklist_item")
        ]

    def __str__(self) -> str:
        return self.text_zh


class InspectionFrequency(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    HALF_YEARLY = "half_year", _("Every half-year")
    YEARLY = "yearly", _("Yearly")


class InspectionSchedule(models.Model):
    """How often a branch must be inspected with a checklist; coverage is measured against it."""

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+")
    checklist = models.ForeignKey(Checklist, on_delete=models.CASCADE, related_name="schedules")
    frequency = models.CharField(_("how often"), max_length=10, choices=InspectionFrequency.choices)
    starts_on = models.DateField(_("from"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("inspection schedule")
        verbose_name_plural = _("inspection schedules")
        constraints = [
            models.UniqueConstraint(fields=["branch", "checklist"], name="uniq_inspection_schedule")
        ]

    def __str__(self) -> str:
        return f"{self.branch_id} {self.checklist_id} {self.frequency}"


class Inspection(models.Model):
    class Status(models.TextChoices):
        IN_PROGRESS = "open", _("In progress")
        SUBMITTED = "submitted", _("Submitted")

    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    checklist = models.ForeignKey(Checklist, on_delete=models.PROTECT, related_name="inspections")
    kind = models.CharField(_("kind"), max_length=10, choices=InspectionKind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.IN_PROGRESS
    )
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    visited_on = models.DateField(_("visited on"))
    started_at = models.DateTimeField(_("started at"))
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    score = models.FloatField(_("score (%)"), null=True, blank=True)  # set on submit
    category_scores = models.JSONField(_("score per category (%)"), default=dict, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-visited_on", "-id"]
        indexes = [models.Index(fields=["branch", "visited_on"], name="inspection_branch_day")]

    def __str__(self) -> str:
        return f"{self.branch_id} {self.kind} {self.visited_on}"


class InspectionResult(models.Model):
    """One item's answer in an inspection; the item's text, category and weight are copied, so
    a later change to the checklist does not rewrite past scores."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="results")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    category = models.SlugField(_("category"), max_length=30)
    weight = models.PositiveSmallIntegerField(_("weight"))
    text = models.CharField(_("item"), max_length=300, blank=True)
    # False until the inspector answers; `passed` None on an answered item: not applicable.
    answered = models.BooleanField(_("answered"), default=False)
    passed = models.BooleanField(_("passed"), null=True)  # None: not applicable
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("inspection result")
        verbose_name_plural = _("inspection results")
        constraints = [
            models.UniqueConstraint(fields=["inspection", "item"], name="uniq_inspection_item")
        ]

    def __str__(self) -> str:
        return f"{self.inspection_id}/{self.item_id}: {self.passed}"


class Attachment(models.Model):
    """A photo or document: evidence for an inspection item or for a finding's fix."""

    result = models.ForeignKey(
        InspectionResult, on_delete=models.CASCADE, null=True, blank=True, related_name="photos"
    )
    finding = models.ForeignKey(
        "Finding", on_delete=models.CASCADE, null=True, blank=True, related_name="evidence"
    )
    file = models.FileField(_("file"), upload_to="quality/%Y/%m/")
    content_type = models.CharField(max_length=60)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(result__isnull=False) | models.Q(finding__isnull=False),
                name="attachment_has_owner",
            )
        ]

    def __str__(self) -> str:
        return self.file.name


class Finding(models.Model):
    """A failed item to fix (整改): owner, deadline, evidence, re-check at the next inspection."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        FIXED = "fixed", _("Fixed, to be re-checked")
        CLOSED = "closed", _("Closed")

    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+")
    inspection = models.ForeignKey(Inspection, on_delete=models.PROTECT, related_name="findings")
    result = models.OneToOneField(
        InspectionResult, on_delete=models.PROTECT, related_name="finding"
    )
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    category = models.SlugField(_("category"), max_length=30)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    due_on = models.DateField(_("fix by"))
    created_at = models.DateTimeField(_("found at"))
    fixed_at = models.DateTimeField(_("fixed at"), null=True, blank=True)
    fixed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    fix_note = models.TextField(_("what was done"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # The inspection that checked the fix again, and what it found.
    recheck_inspection = models.ForeignKey(
        Inspection, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recheck_passed = models.BooleanField(_("passed the re-check"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(
                fields=["branch", "due_on"],
                condition=~models.Q(status="closed"),
                name="finding_open_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.branch_id} {self.item_id} {self.status}"


class FindingEvent(models.Model):
    """The finding's trail: created, assigned, reminded, escalated, fixed, re-checked, closed."""

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("action"), max_length=20)
    at = models.DateTimeField(_("at"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("finding event")
        verbose_name_plural = _("finding events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.finding_id} {self.action}"


# --- Training and lobby duty -------------------------------------------------------------------


class TrainingSession(models.Model):
    branch = models.ForeignKey(
        Branch, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    region = models.ForeignKey(
        Region, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    title = models.CharField(_("title"), max_length=200)
    topic = models.CharField(_("topic"), max_length=100, blank=True)
    standard = models.ForeignKey(
        ServiceStandard, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    starts_at = models.DateTimeField(_("starts at"))
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"), default=60)
    trainer = models.CharField(_("trainer"), max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("training session")
        verbose_name_plural = _("training sessions")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(branch__isnull=False) | models.Q(region__isnull=False),
                name="training_has_audience",
            )
        ]

    def __str__(self) -> str:
        return self.title


class TrainingAttendance(models.Model):
    """Who was expected at a session, and whether they came: participation = came / expected."""

    session = models.ForeignKey(
        TrainingSession, on_delete=models.CASCADE, related_name="attendance"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+")
    attended = models.BooleanField(_("attended"), default=False)
    recorded_at = models.DateTimeField(_("recorded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        constraints = [
            models.UniqueConstraint(fields=["session", "user"], name="uniq_training_attendance")
        ]

    def __str__(self) -> str:
        return f"{self.session_id} {self.user_id} {self.attended}"


class DutyShift(models.Model):
    """The branch head (or a deputy) on duty in the lobby (行长坐堂值班), by local date and time."""

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    date = models.DateField(_("date"))
    starts_at = models.TimeField(_("from"))
    ends_at = models.TimeField(_("until"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("lobby duty")
        verbose_name_plural = _("lobby duty roster")
        ordering = ["date", "starts_at"]
        indexes = [models.Index(fields=["branch", "date"], name="duty_branch_date")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="duty_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.branch_id} {self.date} {self.user_id}"
