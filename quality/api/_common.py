"""Shared bits of quality's API: who reads which branches (inspectors and regional heads are
not members of the branches they read, so BranchApi's check does not fit them)."""

from django.utils import timezone
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from .. import roles

TAG = "quality"


class QualityReaderPermission(BasePermission):
    """An inspector or regional head of a region, or a branch head: sets
    request.quality_branches (region_only: inspectors and regional heads only)."""

    def has_permission(self, request, view) -> bool:  # type: ignore[override]
        if not request.user or not request.user.is_authenticated:
            return False
        if getattr(view, "region_only", False):
            branches = list(roles.region_branches_for(request.user))
        else:
            branches = list(roles.quality_branches_for(request.user))
        request.quality_branches = branches
        return bool(branches) or getattr(view, "allow_staff", False)


class QualityApi(APIView):
    permission_classes = [QualityReaderPermission]
    region_only = False
    allow_staff = False

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.quality_branches:
            timezone.activate(request.quality_branches[0].tz)

    def finalize_response(self, request, response, *args, **kwargs):
        timezone.deactivate()
        return super().finalize_response(request, response, *args, **kwargs)
