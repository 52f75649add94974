"""REST API of pre-filled forms (thin: the services check the answers, reception.prefill)."""

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from accounts.access import get_for_branch
from accounts.api import ANY_STAFF, BranchApi
from accounts.models import Role
from accounts.schema import ErrorSerializer
from queueing.models import Service

from .. import prefill
from ..models import FormSubmission, Visit
from ..selectors.forms import current_form_version, form_answers, form_title
from ..services.forms import FormInvalid, form_submit

__all__ = [
    "FormForServiceApi",
    "VisitFormApi",
]

TAG = "reception"


class FormOptionSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()


class FormFieldOutputSerializer(serializers.Serializer):
    key = serializers.CharField()
    kind = serializers.ChoiceField(choices=prefill.KINDS)
    label = serializers.CharField(help_text="In the reader's language.")
    required = serializers.BooleanField()
    sensitive = serializers.BooleanField()
    options = FormOptionSerializer(many=True, help_text="For choice, id_type and yes_no.")


class FormOutputSerializer(serializers.Serializer):
    service = serializers.IntegerField()
    title = serializers.CharField()
    version = serializers.IntegerField()
    fields = FormFieldOutputSerializer(many=True)

    class Meta:
        ref_name = "PrefillForm"


class FormAnswerSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    value = serializers.CharField(help_text="As shown: sensitive answers masked.")
    answered = serializers.BooleanField()
    sensitive = serializers.BooleanField()
    masked = serializers.BooleanField()


class SubmissionOutputSerializer(serializers.Serializer):
    visit = serializers.IntegerField()
    title = serializers.CharField()
    version = serializers.IntegerField()
    filled_by = serializers.ChoiceField(choices=FormSubmission.FilledBy.choices)
    submitted_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    answers = FormAnswerSerializer(many=True)

    class Meta:
        ref_name = "PrefillSubmission"


def _form_data(service: Service, language: str) -> dict | None:
    version = current_form_version(service_id=service.pk)
    if version is None:
        return None
    fields = prefill.fields_from_snapshot(version.fields)
    return {
        "service": service.pk,
        "title": form_title(version.form, language),
        "version": version.number,
        "fields": [
            {
                "key": field.key,
                "kind": field.kind,
                "label": prefill.label(field, language),
                "required": field.required,
                "sensitive": field.sensitive,
                "options": [
                    {"value": value, "label": label}
                    for value, label in prefill.choices_for(field, language)
                ],
            }
            for field in fields
        ],
    }


def _submission_data(visit: Visit, language: str) -> dict | None:
    answers = form_answers(visit=visit, language=language)
    if answers is None:
        return None
    submission = answers["submission"]
    return {
        "visit": visit.pk,
        "title": answers["title"],
        "version": answers["version"],
        "filled_by": submission.filled_by,
        "submitted_at": submission.submitted_at,
        "updated_at": submission.updated_at,
        "answers": answers["rows"],
    }


class FormForServiceApi(BranchApi):
    """GET forms/?service=<id>: the current version of a service's form, labels in the
    reader's language (Accept-Language)."""

    @extend_schema(
        tags=[TAG],
        parameters=[OpenApiParameter("service", int, required=True, description="Service id.")],
        responses={
            200: FormOutputSerializer,
            404: OpenApiResponse(
                ErrorSerializer, description="No such service at the branch, or it has no form."
            ),
        },
    )
    def get(self, request):
        raw = request.query_params.get("service", "")
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
            raise ValidationError({"service": [_("A valid integer is required.")]})
        service = get_for_branch(Service.objects.all(), request.branch, pk=int(raw))
        data = _form_data(service, translation.get_language())
        if data is None:
            raise NotFound(_("This service has no form."))
        return Response(FormOutputSerializer(data).data)


class VisitFormApi(BranchApi):
    """GET the visit's answers (sensitive masked; the teller's screen reveals them, audited);
    PUT the answers (lobby manager, teller, branch head): 400 with {field key: [messages]}."""

    class InputSerializer(serializers.Serializer):
        # Any values: each is checked against its field by the service (reception.prefill).
        answers = serializers.DictField(
            help_text="{field key: answer}: text, numbers and amounts as strings or numbers, "
            "dates as YYYY-MM-DD, yes/no as true/false; unknown keys are ignored.",
        )

        class Meta:
            ref_name = "PrefillSubmissionInput"

    def get_permissions(self):
        if self.request.method == "PUT":
            self.allowed_roles = (Role.LOBBY_MANAGER, Role.TELLER, Role.BRANCH_HEAD)
        else:
            self.allowed_roles = ANY_STAFF
        return super().get_permissions()

    @extend_schema(tags=[TAG], responses=SubmissionOutputSerializer)
    def get(self, request, pk: int):
        visit = get_for_branch(Visit.objects.all(), request.branch, pk=pk)
        data = _submission_data(visit, translation.get_language())
        if data is None:
            raise NotFound(_("The form of this visit has not been filled in."))
        return Response(SubmissionOutputSerializer(data).data)

    @extend_schema(tags=[TAG], request=InputSerializer, responses=SubmissionOutputSerializer)
    def put(self, request, pk: int):
        visit = get_for_branch(Visit.objects.all(), request.branch, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        answers = data.validated_data["answers"]
        wrong = {
            str(key): [_("Give a text, a number, true or false.")]
            for key, value in answers.items()
            if not (value is None or isinstance(value, str | int | float | bool))
        }
        if wrong:
            raise ValidationError(wrong)
        raw = {str(key): value for key, value in answers.items()}
        try:
            form_submit(
                visit=visit,
                raw=raw,
                filled_by=FormSubmission.FilledBy.STAFF,
                staff=request.user,
            )
        except FormInvalid as exc:
            # {field key: [messages]}, as any validation error (accounts.schema).
            raise ValidationError(exc.errors) from exc
        return Response(
            SubmissionOutputSerializer(_submission_data(visit, translation.get_language())).data
        )
