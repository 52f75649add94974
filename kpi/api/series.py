"""The KPI API: a KPI as a series, the region ranking, the branch's targets.

Scoping: a branch head (or branch administrator) reads their branch; a regional head any branch
of their region (`?branch=CODE`); a teller only their own figures (the series is forced to
`teller=<self>`; asking for another teller is a 403); anyone else gets a 403. Another branch's
code is a 404, as everywhere. Bad parameters are a 400 naming the field.
"""

from __future__ import annotations

from datetime import timedelta

from django.http import Http404
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import BranchReaderPermission
from accounts.api import BranchApi
from accounts.models import Branch, Membership, Role
from accounts.schema import ErrorSerializer
from accounts.selectors import roles_at_branch
from accounts.timeutil import branch_today
from queueing.models import Service

from .. import selectors, services
from ..forms import DEFAULT_DAYS, MAX_RANGE_DAYS
from ..metrics import METRICS
from ..serializers import (
    RegionQuerySerializer,
    RegionRankingSerializer,
    SeriesPointSerializer,
    SeriesQuerySerializer,
    TargetSerializer,
)

TAG = "kpi"
BRANCH_NOT_FOUND = OpenApiResponse(
    ErrorSerializer, description="No such branch among those you may read."
)
REGION_NOT_FOUND = OpenApiResponse(ErrorSerializer, description="Not a region you head.")
FULL_READERS = {Role.BRANCH_HEAD, Role.ADMIN}


def _date_range(params: dict, branch: Branch):
    """The query's dates, or the last DEFAULT_DAYS days in the branch's zone."""
    today = branch_today(branch)
    date_to = params.get("date_to") or max(today, params.get("date_from") or today)
    date_from = params.get("date_from") or date_to - timedelta(days=DEFAULT_DAYS - 1)
    if date_from > date_to:
        raise ValidationError({"date_from": [_("The start date is after the end date.")]})
    if (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
        raise ValidationError(
            {"date_from": [_("Choose at most %(days)d days.") % {"days": MAX_RANGE_DAYS}]}
        )
    return date_from, date_to


class _ReaderApi(APIView):
    """Readers across branches (accounts.access.BranchReaderPermission); times come out in the
    zone of the branch read."""

    permission_classes = [BranchReaderPermission]

    def finalize_response(self, request, response, *args, **kwargs):
        timezone.deactivate()
        return super().finalize_response(request, response, *args, **kwargs)


class SeriesApi(_ReaderApi):
    allowed_roles = (Role.BRANCH_HEAD, Role.TELLER)

    @extend_schema(
        tags=[TAG],
        parameters=[SeriesQuerySerializer],
        responses={200: SeriesPointSerializer(many=True), 404: BRANCH_NOT_FOUND},
        description="One KPI of one branch per day, week, month, quarter or half-year, with "
        "the branch's target. Periods without figures have a null value.",
    )
    def get(self, request):
        query = SeriesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        branch = self._branch(request, params.get("branch"))
        timezone.activate(branch.tz)
        teller_id = params.get("teller")
        if not self._reads_whole_branch(request, branch):
            # A teller: their own figures only.
            if teller_id is not None and teller_id != request.user.pk:
                raise PermissionDenied(_("A teller may only read their own figures."))
            teller_id = request.user.pk
        elif teller_id is not None and not (
            Membership.objects.filter(branch=branch, user_id=teller_id).exists()
        ):
            raise ValidationError({"teller": [_("No such teller at this branch.")]})
        service_id = params.get("service")
        if service_id is not None and not (
            Service.objects.filter(branch=branch, pk=service_id).exists()
        ):
            raise ValidationError({"service": [_("No such service at this branch.")]})
        date_from, date_to = _date_range(params, branch)
        series = selectors.kpi_series(
            branch=branch,
            metric=params["metric"],
            granularity=params.get("granularity") or "day",
            date_from=date_from,
            date_to=date_to,
            service_ids=[service_id] if service_id else None,
            teller_id=teller_id,
        )
        return Response(SeriesPointSerializer(series, many=True).data)

    @staticmethod
    def _branch(request, code: str | None) -> Branch:
        readable = list(request.readable_branches)
        if code:
            branch = next((b for b in readable if b.code == code), None)
            if branch is None:
                raise Http404
            return branch
        if request.branch is not None and request.branch in readable:
            return request.branch
        if len(readable) == 1:
            return readable[0]
        raise ValidationError({"branch": [_("Choose a branch (its code).")]})

    @staticmethod
    def _reads_whole_branch(request, branch: Branch) -> bool:
        if roles_at_branch(user=request.user, branch=branch) & FULL_READERS:
            return True
        regions = {region.pk for region in selectors.regions_headed_by(request.user)}
        return branch.region_id is not None and branch.region_id in regions


class RegionApi(_ReaderApi):
    allowed_roles = (Role.BRANCH_HEAD,)

    @extend_schema(
        tags=[TAG],
        parameters=[RegionQuerySerializer],
        responses={200: RegionRankingSerializer, 404: REGION_NOT_FOUND},
        description="For a regional head: the region's branches ranked on one KPI (best "
        "first as the KPI reads), with the previous period of equal length; branches without "
        "figures last.",
    )
    def get(self, request):
        query = RegionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        regions = selectors.regions_headed_by(request.user)
        if not regions:
            raise PermissionDenied(_("The region ranking is for regional heads."))
        code = params.get("region") or regions[0].code
        region = next((candidate for candidate in regions if candidate.code == code), None)
        if region is None:
            raise Http404
        branches = [b for b in request.readable_branches if b.region_id == region.pk]
        metric = params.get("metric") or "within_target_share"
        if branches:
            timezone.activate(branches[0].tz)
            date_from, date_to = _date_range(params, branches[0])
        else:  # a region without branches: an empty ranking over the asked (or default) days
            date_to = params.get("date_to") or timezone.localdate()
            date_from = params.get("date_from") or date_to - timedelta(days=DEFAULT_DAYS - 1)
            date_from = min(date_from, date_to)
        ranking = selectors.region_ranking(
            branches=branches, metric=metric, date_from=date_from, date_to=date_to
        )

        def ranked(row):
            if row is None:
                return None
            return {
                **row,
                "branch": row["branch"].code,
                "name": row["branch"].local_name,
            }

        body = {
            **ranking,
            "region": region.code,
            "metric": metric,
            "higher_is_better": METRICS[metric].higher_is_better,
            "best": ranked(ranking["best"]),
            "worst": ranked(ranking["worst"]),
            "rows": [ranked(row) for row in ranking["rows"]],
        }
        return Response(RegionRankingSerializer(body).data)


class TargetsApi(BranchApi):
    """The active branch's KPI targets: a branch head reads them; a branch head or branch
    administrator sets one."""

    allowed_roles = (Role.BRANCH_HEAD, Role.ADMIN)

    @extend_schema(tags=[TAG], responses=TargetSerializer(many=True))
    def get(self, request):
        targets = selectors.kpi_targets(branch=request.branch)
        return Response(
            TargetSerializer(
                [_target_body(metric, value) for metric, value in sorted(targets.items())],
                many=True,
            ).data
        )

    @extend_schema(tags=[TAG], request=TargetSerializer, responses=TargetSerializer)
    def put(self, request):
        body = TargetSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        target = services.kpi_target_set(
            branch=request.branch,
            metric=body.validated_data["metric"],
            value=body.validated_data["value"],
        )
        return Response(TargetSerializer(_target_body(target.metric, target.value)).data)


def _target_body(metric: str, value: float) -> dict:
    definition = METRICS.get(metric)
    return {
        "metric": metric,
        "value": value,
        "unit": definition.unit if definition else "",
        "higher_is_better": definition.higher_is_better if definition else True,
    }


urlpatterns = [
    path("series/", SeriesApi.as_view(), name="kpi-series"),
    path("region/", RegionApi.as_view(), name="kpi-region"),
    path("targets/", TargetsApi.as_view(), name="kpi-targets"),
]
