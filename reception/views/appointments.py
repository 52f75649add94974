"""Appointments: the customer's phone verification, booking, manage and QR poster pages
(/visit/…, no login), and the staff's day view and booking form (/reception/appointments/)."""

from datetime import date, timedelta

import segno
from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import get_for_branch, staff_required
from accounts.errors import DomainError
from accounts.models import Branch, Role
from accounts.throttle import ScopeThrottle, rate_limited, too_many_requests
from crm.personal_data import mask_phone, parse_phone
from queueing.links import ticket_status_token
from queueing.models import Service

from .. import links, selectors, services, verification
from ..models import Appointment, Visit
from ..slots import parse_slot_key

PENDING_PHONE_KEY = "visit_pending_phone"
PENDING_BOOKING_KEY = "visit_pending_booking"
STAFF_ROLES = (Role.LOBBY_MANAGER, Role.BRANCH_HEAD)

__all__ = [
    "appointment_cancel_staff",
    "appointment_check_in_staff",
    "appointments_book_staff",
    "appointments_day",
    "appointments_poster",
    "visit_appointment",
    "visit_book",
    "visit_book_confirm",
    "visit_branch",
    "visit_branch_appointments",
    "visit_verify",
]


# --- Forms --------------------------------------------------------------------------------------


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel", "autofocus": True}
        ),
    )

    def clean_phone(self) -> str:
        phone = parse_phone(self.cleaned_data["phone"])
        if phone is None:
            raise forms.ValidationError(_("Enter a valid mobile number."))
        return phone


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("Code from the SMS"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("Enter the 6 digits from the SMS.")},
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "maxlength": 6,
                "autofocus": True,
            }
        ),
    )


def _add_domain_error(form: forms.Form, error: DomainError) -> None:
    field = error.code if error.code in form.fields else None
    form.add_error(field, error.message)


# --- Phone verification -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@rate_limited("visit_page")
def visit_verify(request: HttpRequest) -> HttpResponse:
    """Phone → code → back to `next` (a local path only). The number travels in POST bodies and
    the session, never in a URL."""
    next_path = verification.safe_next(request, request.POST.get("next") or request.GET.get("next"))
    pending = request.session.get(PENDING_PHONE_KEY)
    action = request.POST.get("action") if request.method == "POST" else None
    context = {"next": next_path or ""}

    if action in ("send", "resend"):
        # Besides the per-number limits (verification.request_code): per address.
        throttle = ScopeThrottle("visit_sms")
        if not throttle.allow_request(request, None):
            return too_many_requests(request, throttle.wait())
    if action == "change":
        request.session.pop(PENDING_PHONE_KEY, None)
        pending = None
    elif action == "send":
        form = PhoneForm(request.POST)
        if form.is_valid():
            try:
                verification.request_code(phone=form.cleaned_data["phone"])
            except verification.VerificationError as error:
                _add_domain_error(form, error)
            else:
                request.session[PENDING_PHONE_KEY] = form.cleaned_data["phone"]
                return _code_page(request, CodeForm(), form.cleaned_data["phone"], context)
        return render(request, "reception/visit/verify.html", context | {"form": form})
    elif action == "resend" and pending:
        form = CodeForm()
        try:
            verification.request_code(phone=pending)
        except verification.VerificationError as error:
            form.add_error(None, error.message)
        return _code_page(request, form, pending, context)
    elif action == "confirm" and pending:
        form = CodeForm(request.POST)
        if form.is_valid():
            try:
                verification.confirm_code(
                    request, phone=pending, code=form.cleaned_data["code"].strip()
                )
            except verification.VerificationError as error:
                _add_domain_error(form, error)
            else:
                request.session.pop(PENDING_PHONE_KEY, None)
                if next_path:
                    return HttpResponseRedirect(next_path)
                return render(request, "reception/visit/verify.html", {"step": "done"})
        return _code_page(request, form, pending, context)
    elif pending and request.method == "GET":
        return _code_page(request, CodeForm(), pending, context)
    return render(request, "reception/visit/verify.html", context | {"form": PhoneForm()})


def _code_page(request: HttpRequest, form: forms.Form, phone: str, context: dict) -> HttpResponse:
    return render(
        request,
        "reception/visit/verify.html",
        context | {"form": form, "step": "code", "masked_phone": mask_phone(phone)},
    )


# --- Helpers ------------------------------------------------------------------------------------


def _parse_day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        return None


def _day_links(days: list[date], current: date | None) -> list[dict]:
    return [{"day": day, "iso": day.isoformat(), "current": day == current} for day in days]


def _branch_by_code(code: str) -> Branch:
    return get_object_or_404(Branch, code=code)


def _service_of(branch: Branch, raw: str | None) -> Service | None:
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        return None
    return Service.objects.filter(branch=branch, pk=int(raw), is_active=True).first()


def _invalid_link(request: HttpRequest) -> HttpResponse:
    return render(request, "reception/visit/invalid_link.html", status=404)


# --- The customer books: service, day, slot, verified phone, confirm ----------------------------


@require_http_methods(["GET", "POST"])
@rate_limited("visit_page")
def visit_book(request: HttpRequest, branch_code: str) -> HttpResponse:
    branch = _branch_by_code(branch_code)
    now = timezone.now()
    with timezone.override(branch.tz):
        plans = selectors.appointment_plans(branch=branch)
        service = _service_of(branch, request.POST.get("service") or request.GET.get("service"))
        plan = next((p for p in plans if service and p.service_id == service.pk), None)
        context = {"branch": branch, "plans": plans, "plan": plan}
        if plan is None:
            return render(request, "reception/visit/book.html", context)
        days = selectors.appointment_days(plan=plan, now=now)
        day = _parse_day(request.POST.get("day") or request.GET.get("day"))
        if day not in days:
            day = days[0] if days else None
        slots = selectors.appointment_slots(plan=plan, day=day, now=now) if day else []
        error = None
        if request.method == "POST":
            starts_at = parse_slot_key(request.POST.get("slot", ""), branch.tz)
            if starts_at is None or not any(
                s.starts_at == starts_at and s.remaining for s in slots
            ):
                error = gettext("Please choose a free time.")
            else:
                request.session[PENDING_BOOKING_KEY] = {
                    "branch": branch.pk,
                    "service": plan.service_id,
                    "slot": request.POST["slot"],
                }
                return redirect("visit:book_confirm", branch_code=branch.code)
        context |= {
            "days": _day_links(days, day),
            "day": day,
            "free_slots": [s for s in slots if s.remaining > 0],
            "error": error,
        }
        return render(request, "reception/visit/book.html", context, status=400 if error else 200)


@require_http_methods(["GET", "POST"])
@rate_limited("visit_page")
@verification.phone_verified_required
def visit_book_confirm(request: HttpRequest, branch_code: str) -> HttpResponse:
    branch = _branch_by_code(branch_code)
    pending = request.session.get(PENDING_BOOKING_KEY) or {}
    book_url = reverse("visit:book", args=[branch.code])
    if pending.get("branch") != branch.pk:
        return redirect(book_url)
    service = Service.objects.filter(branch=branch, pk=pending.get("service")).first()
    starts_at = parse_slot_key(pending.get("slot", ""), branch.tz)
    if service is None or starts_at is None:
        return redirect(book_url)
    phone = verification.verified_phone(request)
    with timezone.override(branch.tz):
        context = {
            "branch": branch,
            "service": service,
            "starts_at": starts_at,
            "masked_phone": mask_phone(phone),
            "book_url": book_url + f"?service={service.pk}",
        }
        if request.method == "POST":
            try:
                appointment = services.appointment_book(
                    branch=branch,
                    service=service,
                    phone=phone,
                    starts_at=starts_at,
                    channel=Appointment.Channel.CUSTOMER,
                )
            except DomainError as error:
                context["error"] = error.message
                return render(request, "reception/visit/book_confirm.html", context, status=400)
            request.session.pop(PENDING_BOOKING_KEY, None)
            return render(
                request,
                "reception/visit/booked.html",
                context
                | {
                    "appointment": appointment,
                    "manage_url": links.appointment_url(appointment.pk),
                },
            )
        return render(request, "reception/visit/book_confirm.html", context)


# --- The customer's manage page (signed link from the SMS) --------------------------------------


@require_http_methods(["GET", "POST"])
@rate_limited("visit_page")
def visit_appointment(request: HttpRequest, token: str) -> HttpResponse:
    appointment_id = links.appointment_id_from_token(token)
    appointment = selectors.appointment_detail(pk=appointment_id) if appointment_id else None
    if appointment is None:
        return _invalid_link(request)
    branch = appointment.branch
    now = timezone.now()
    here = reverse("visit:appointment", args=[token])
    error = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "cancel":
                services.appointment_cancel(appointment=appointment)
                messages.success(request, gettext("Your appointment is cancelled."))
                return redirect(here)
            if action == "reschedule":
                starts_at = parse_slot_key(request.POST.get("slot", ""), branch.tz)
                if starts_at is None:
                    error = gettext("Please choose a free time.")
                else:
                    services.appointment_reschedule(appointment=appointment, starts_at=starts_at)
                    messages.success(request, gettext("Your appointment is moved."))
                    return redirect(here)
        except DomainError as exc:
            error = exc.message
        appointment.refresh_from_db()
    can_change = appointment.status == Appointment.Status.BOOKED and appointment.ends_at > now
    plan = selectors.appointment_plan_for(service=appointment.service) if can_change else None
    with timezone.override(branch.tz):
        context = {
            "branch": branch,
            "appointment": appointment,
            "can_change": can_change,
            "error": error,
            "here": here,
        }
        if plan is not None:
            days = selectors.appointment_days(plan=plan, now=now)
            day = _parse_day(request.POST.get("day") or request.GET.get("day"))
            if day not in days:
                day = None
            slots = (
                selectors.appointment_slots(plan=plan, day=day, now=now, exclude_pk=appointment.pk)
                if day
                else []
            )
            context |= {
                "days": _day_links(days, day),
                "day": day,
                "free_slots": [
                    s for s in slots if s.remaining > 0 and s.starts_at != appointment.starts_at
                ],
            }
        return render(
            request, "reception/visit/appointment.html", context, status=400 if error else 200
        )


# --- The branch's QR poster page ----------------------------------------------------------------


def poster_branch_or_404(token: str) -> Branch:
    """The branch of a QR poster's token (every /visit/b/<token>/ page: check-in, joining)."""
    branch_id = links.branch_id_from_token(token)
    branch = Branch.objects.filter(pk=branch_id).first() if branch_id else None
    if branch is None:
        raise Http404
    return branch


def _remote_links(branch: Branch, token: str) -> dict:
    """Remote queueing's pages (reception/views/remote.py), when the branch allows them."""
    if not branch.remote_queue_enabled:
        return {}
    return {
        "join_url": reverse("visit:remote_join", args=[token]),
        "remote_check_in_url": reverse("visit:remote_check_in", args=[token]),
    }


@require_GET
@rate_limited("visit_page")
def visit_branch(request: HttpRequest, token: str) -> HttpResponse:
    """What the customer who scanned the branch's poster can do here."""
    branch = poster_branch_or_404(token)
    context = {
        "branch": branch,
        "check_in_url": reverse("visit:branch_appointments", args=[token]),
        "book_url": reverse("visit:book", args=[branch.code]),
        "can_book": bool(selectors.appointment_plans(branch=branch)),
    } | _remote_links(branch, token)
    return render(request, "reception/visit/branch.html", context)


@require_http_methods(["GET", "POST"])
@rate_limited("visit_page")
@verification.phone_verified_required
def visit_branch_appointments(request: HttpRequest, token: str) -> HttpResponse:
    """Today's appointments of the verified phone at this branch; check in → the ticket page."""
    branch = poster_branch_or_404(token)
    phone = verification.verified_phone(request)
    now = timezone.now()
    error = None
    appointments = selectors.appointments_today_for_phone(branch=branch, phone=phone, now=now)
    if request.method == "POST":
        raw = request.POST.get("appointment", "")
        mine = {a.pk: a for a in appointments}
        appointment = mine.get(int(raw)) if raw.isascii() and raw.isdigit() else None
        if appointment is None:
            error = gettext("Please choose one of your appointments.")
        else:
            try:
                ticket = services.appointment_check_in(
                    appointment=appointment, channel=Visit.Channel.QR
                )
            except DomainError as exc:
                error = exc.message
            else:
                return redirect("queueing:ticket_status", token=ticket_status_token(ticket.pk))
    with timezone.override(branch.tz):
        return render(
            request,
            "reception/visit/branch_appointments.html",
            {
                "branch": branch,
                "appointments": appointments,
                "masked_phone": mask_phone(phone),
                "error": error,
                "book_url": reverse("visit:book", args=[branch.code]),
                "poster_url": reverse("visit:branch", args=[token]),
            },
            status=400 if error else 200,
        )


# --- Staff: the day's bookings, booking, check-in, the poster ------------------------------------


class StaffBookingForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "inputmode": "tel"}),
    )
    name = forms.CharField(label=_("Name"), max_length=60, required=False)
    service = forms.ModelChoiceField(label=_("Service"), queryset=Service.objects.none())
    slot = forms.CharField(label=_("Time"), max_length=16)
    at_the_door = forms.BooleanField(
        label=_("The customer is here (record the arrival)"), required=False
    )

    def __init__(self, *args, branch: Branch, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.branch = branch
        plans = selectors.appointment_plans(branch=branch)
        self.fields["service"].queryset = Service.objects.filter(
            pk__in=[p.service_id for p in plans]
        ).order_by("prefix")

    def clean_phone(self) -> str:
        phone = parse_phone(self.cleaned_data["phone"])
        if phone is None:
            raise forms.ValidationError(_("Enter a valid mobile number."))
        return phone

    def clean_slot(self):
        starts_at = parse_slot_key(self.cleaned_data["slot"], self.branch.tz)
        if starts_at is None:
            raise forms.ValidationError(_("Choose a time."))
        return starts_at


def _staff_day(request: HttpRequest) -> date:
    today = timezone.localtime(timezone.now(), request.branch.tz).date()
    day = _parse_day(request.GET.get("day") or request.POST.get("day"))
    if day is None or abs((day - today).days) > 366:
        return today
    return day


def _day_view_context(request: HttpRequest, day: date, form: StaffBookingForm) -> dict:
    branch = request.branch
    now = timezone.now()
    today = timezone.localtime(now, branch.tz).date()
    plans = selectors.appointment_plans(branch=branch)
    booked = list(selectors.appointments_on_day(branch=branch, day=day))
    columns = []
    for plan in plans:
        rows = [
            {
                "slot": slot,
                "bookable": slot.remaining > 0 and slot.starts_at > now,
                "appointments": [
                    a
                    for a in booked
                    if a.service_id == plan.service_id and a.starts_at == slot.starts_at
                ],
            }
            for slot in selectors.appointment_slots(plan=plan, day=day, now=now, include_past=True)
        ]
        # Past slots nobody booked are of no use to anyone: the day starts at what matters.
        rows = [row for row in rows if row["appointments"] or row["slot"].ends_at > now]
        columns.append({"plan": plan, "rows": rows})
    return {
        "day": day,
        "is_today": day == today,
        "previous_day": (day - timedelta(days=1)).isoformat(),
        "next_day": (day + timedelta(days=1)).isoformat(),
        "today_iso": today.isoformat(),
        "columns": columns,
        "form": form,
        "closed": bool(plans) and not any(col["rows"] for col in columns),
        "plans": plans,
    }


@require_GET
@staff_required(*STAFF_ROLES)
def appointments_day(request: HttpRequest) -> HttpResponse:
    day = _staff_day(request)
    form = StaffBookingForm(branch=request.branch)
    return render(request, "reception/appointments_day.html", _day_view_context(request, day, form))


@require_POST
@staff_required(*STAFF_ROLES)
def appointments_book_staff(request: HttpRequest) -> HttpResponse:
    day = _staff_day(request)
    form = StaffBookingForm(request.POST, branch=request.branch)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.appointment_book(
                branch=request.branch,
                service=data["service"],
                phone=data["phone"],
                name=data["name"],
                starts_at=data["slot"],
                channel=Appointment.Channel.STAFF,
                booked_by=request.user,
                record_lobby_visit=data["at_the_door"],
            )
        except DomainError as error:
            _add_domain_error(form, error)
        else:
            messages.success(request, gettext("Appointment booked."))
            local = timezone.localtime(data["slot"], request.branch.tz).date()
            return redirect(reverse("reception:appointments") + f"?day={local.isoformat()}")
    return render(
        request,
        "reception/appointments_day.html",
        _day_view_context(request, day, form),
        status=400,
    )


def _staff_appointment(request: HttpRequest, pk: int) -> Appointment:
    return get_for_branch(
        Appointment.objects.select_related("service", "customer", "branch"), request.branch, pk=pk
    )


def _back_to_day(request: HttpRequest, appointment: Appointment) -> HttpResponse:
    local = timezone.localtime(appointment.starts_at, request.branch.tz).date()
    return redirect(reverse("reception:appointments") + f"?day={local.isoformat()}")


@require_POST
@staff_required(*STAFF_ROLES)
def appointment_check_in_staff(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _staff_appointment(request, pk)
    try:
        ticket = services.appointment_check_in(
            appointment=appointment, channel=Visit.Channel.CHECK_IN, by=request.user
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            gettext("Checked in: ticket %(code)s (%(priority)s).")
            % {"code": ticket.code, "priority": ticket.get_priority_display()},
        )
    return _back_to_day(request, appointment)


@require_POST
@staff_required(*STAFF_ROLES)
def appointment_cancel_staff(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _staff_appointment(request, pk)
    try:
        services.appointment_cancel(appointment=appointment, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, gettext("Appointment cancelled."))
    return _back_to_day(request, appointment)


@require_GET
@staff_required(*STAFF_ROLES)
def appointments_poster(request: HttpRequest) -> HttpResponse:
    """The branch's QR poster, to print and put up at the door."""
    url = links.branch_url(request.branch.pk, absolute=True)
    branch = request.branch
    lead = (
        _("Scan to check in for your appointment, join the queue or book")
        if branch.remote_queue_enabled
        else _("Scan to check in for your appointment or book one")
    )
    # Printed once for every customer: in Chinese and in English, whatever the screen shows.
    lines = []
    for language in ("zh-hans", "en"):
        with translation.override(language):
            lines.append({"lang": language, "text": str(lead)})
    return render(
        request,
        "reception/appointments_poster.html",
        {
            "branch": branch,
            "poster_lines": lines,
            "poster_url": url,
            "qr_uri": segno.make(url, error="m").svg_data_uri(scale=8, border=2),
        },
    )
