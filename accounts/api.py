"""API-wide behaviour: the staff base view, and domain errors as 400 with a message, never 500."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from .access import BranchRolePermission
from .errors import DomainError
from .lockout import api_lockout_response
from .models import Role


def exception_handler(exc, context):
    locked = api_lockout_response(exc, context.get("request"))
    if locked is not None:
        return locked
    if isinstance(exc, DomainError):
        return Response(
            {"detail": str(exc.message), "code": exc.code}, status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, DjangoValidationError):
        body = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


ANY_STAFF = (Role.LOBBY_MANAGER, Role.TELLER, Role.BRANCH_HEAD, Role.ADMIN)


class BranchApi(APIView):
    """Base for staff endpoints: role + branch check (sets request.branch); times come out in
    the branch's own time zone."""

    permission_classes = [BranchRolePermission]
    allowed_roles: tuple[str, ...] = ANY_STAFF

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        timezone.activate(request.branch.tz)

    def finalize_response(self, request, response, *args, **kwargs):
        timezone.deactivate()
        return super().finalize_response(request, response, *args, **kwargs)
