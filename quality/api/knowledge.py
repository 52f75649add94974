"""/api/quality/kb/…: the knowledge base with the pages' rules. Readers: any staff of the
branch (bank-wide and the branch's own published entries); writers and reviewers: the branch
head and administrator for the branch's entries, the platform operator for bank-wide ones."""

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response

from accounts.api import BranchApi
from accounts.errors import DomainError

from .. import selectors, services
from ..models import KnowledgeEntry
from ..search import MAX_TERM_LENGTH, MAX_TERMS

TAG = "quality"

__all__ = [
    "KbEntryActionApi",
    "KbEntryDetailApi",
    "KbEntryFlagApi",
    "KbEntryListApi",
]


def _raise(error: DomainError) -> Exception:
    if error.code == "forbidden":
        return PermissionDenied(str(error.message))
    if error.code == "question_zh":
        return ValidationError({"question_zh": [str(error.message)]})
    if error.code == "note":
        return ValidationError({"note": [str(error.message)]})
    return error


class KbRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="entry.pk")
    question = serializers.CharField()
    answer = serializers.CharField()
    service_codes = serializers.ListField(child=serializers.CharField())
    tags = serializers.CharField()
    version = serializers.IntegerField()
    status = serializers.CharField(source="entry.status")
    bank_wide = serializers.SerializerMethodField()
    last_reviewed_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "KnowledgeEntryRow"

    def get_bank_wide(self, row) -> bool:
        return row.entry.branch_id is None


class KbEntrySerializer(serializers.ModelSerializer):
    bank_wide = serializers.SerializerMethodField()

    class Meta:
        model = KnowledgeEntry
        ref_name = "KnowledgeEntry"
        fields = [
            "id",
            "bank_wide",
            "status",
            "version",
            *services.KB_CONTENT_FIELDS,
            "created_at",
            "updated_at",
            "published_at",
            "last_reviewed_at",
        ]

    def get_bank_wide(self, entry) -> bool:
        return entry.branch_id is None


class ServiceCodesField(serializers.ListField):
    """A list of service codes whose errors name the field, not an item (the API's 400s are
    {field: [messages]})."""

    child = serializers.CharField(max_length=30)

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except ValidationError as exc:
            raise ValidationError(
                [_("Give a list of service codes of at most 30 characters each.")]
            ) from exc


class KbEntryInputSerializer(serializers.Serializer):
    question_zh = serializers.CharField(max_length=300)
    answer_zh = serializers.CharField(max_length=10000)
    question_zh_hant = serializers.CharField(max_length=300, required=False, allow_blank=True)
    answer_zh_hant = serializers.CharField(max_length=10000, required=False, allow_blank=True)
    question_en = serializers.CharField(max_length=300, required=False, allow_blank=True)
    answer_en = serializers.CharField(max_length=10000, required=False, allow_blank=True)
    tags = serializers.CharField(max_length=200, required=False, allow_blank=True)
    service_codes = ServiceCodesField(required=False, max_length=20)
    bank_wide = serializers.BooleanField(
        default=False, help_text="Platform operator only: an entry for the whole bank."
    )

    class Meta:
        ref_name = "KnowledgeEntryInput"


class KbQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_TERMS * (MAX_TERM_LENGTH + 1)
    )
    service = serializers.CharField(required=False, allow_blank=True, max_length=30)

    class Meta:
        ref_name = "KnowledgeQuery"


class KbEntryListApi(BranchApi):
    """GET searches the entries the branch's staff read; POST creates a draft."""

    @extend_schema(
        tags=[TAG],
        parameters=[KbQuerySerializer],
        responses=KbRowSerializer(many=True),
        description="Published entries (bank-wide and this branch's), in the reader's language, "
        "best match first; every word of q must match. At most 50.",
    )
    def get(self, request):
        query = KbQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = selectors.kb_search(
            branch=request.branch,
            query=query.validated_data.get("q", ""),
            service_code=query.validated_data.get("service", ""),
            limit=50,
        )
        return Response(KbRowSerializer(rows, many=True).data)

    @extend_schema(tags=[TAG], request=KbEntryInputSerializer, responses={201: KbEntrySerializer})
    def post(self, request):
        data = KbEntryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        bank_wide = fields.pop("bank_wide", False)
        try:
            entry = services.entry_create_draft(
                branch=None if bank_wide else request.branch, by=request.user, **fields
            )
        except DomainError as error:
            raise _raise(error) from error
        return Response(KbEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


def _entry(request, pk: int) -> KnowledgeEntry:
    entry = selectors.kb_entry_for_staff(
        branch=request.branch,
        pk=pk,
        may_edit=services.kb_may_edit(request.user, request.branch),
    )
    if entry is None:
        raise NotFound()
    return entry


class KbEntryDetailApi(BranchApi):
    @extend_schema(tags=[TAG], responses=KbRowSerializer)
    def get(self, request, pk: int):
        return Response(KbRowSerializer(selectors.kb_row(_entry(request, pk))).data)

    @extend_schema(tags=[TAG], request=KbEntryInputSerializer, responses=KbEntrySerializer)
    def put(self, request, pk: int):
        entry = _entry(request, pk)
        data = KbEntryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields.pop("bank_wide", None)
        try:
            entry = services.entry_update(entry, by=request.user, **fields)
        except DomainError as error:
            raise _raise(error) from error
        return Response(KbEntrySerializer(entry).data)


class KbActionInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    class Meta:
        ref_name = "KnowledgeActionInput"


class KbEntryActionApi(BranchApi):
    """POST submit / publish / return / reviewed."""

    action = ""

    @extend_schema(tags=[TAG], request=KbActionInputSerializer, responses=KbEntrySerializer)
    def post(self, request, pk: int):
        entry = _entry(request, pk)
        data = KbActionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            if self.action == "submit":
                services.entry_submit(entry, by=request.user)
            elif self.action == "publish":
                services.entry_publish(entry, by=request.user, note=data.validated_data["note"])
            elif self.action == "return":
                services.entry_return_to_draft(entry, by=request.user)
            else:
                services.entry_mark_reviewed(entry, by=request.user)
        except DomainError as error:
            raise _raise(error) from error
        entry.refresh_from_db()
        return Response(KbEntrySerializer(entry).data)


class KbFlagInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300)

    class Meta:
        ref_name = "KnowledgeFlagInput"


class KbFlagSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    entry = serializers.IntegerField(source="entry_id")
    note = serializers.CharField()
    flagged_at = serializers.DateTimeField()

    class Meta:
        ref_name = "KnowledgeFlag"


class KbEntryFlagApi(BranchApi):
    """POST: any staff says the entry is outdated."""

    @extend_schema(tags=[TAG], request=KbFlagInputSerializer, responses={201: KbFlagSerializer})
    def post(self, request, pk: int):
        entry = _entry(request, pk)
        if entry.version < 1:
            raise ValidationError({"note": [_("Only a published entry can be flagged.")]})
        data = KbFlagInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            flag = services.entry_flag(
                entry, by=request.user, branch=request.branch, note=data.validated_data["note"]
            )
        except DomainError as error:
            raise _raise(error) from error
        return Response(KbFlagSerializer(flag).data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("kb/entries/", KbEntryListApi.as_view(), name="quality-kb-entries"),
    path("kb/entries/<int:pk>/", KbEntryDetailApi.as_view(), name="quality-kb-entry"),
    *[
        path(
            f"kb/entries/<int:pk>/{action}/",
            KbEntryActionApi.as_view(action=action),
            name=f"quality-kb-entry-{action}",
        )
        for action in ("submit", "publish", "return", "reviewed")
    ],
    path("kb/entries/<int:pk>/flag/", KbEntryFlagApi.as_view(), name="quality-kb-entry-flag"),
]
