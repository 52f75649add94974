import factory
from django.contrib.auth import get_user_model

from accounts.models import Branch, Membership, Role
from crm.models import Customer
from queueing.models import Counter, CounterSkill, Service


class BranchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Branch

    code = factory.Sequence(lambda n: f"b{n}")
    name = factory.Sequence(lambda n: f"测试支行{n}")
    name_en = factory.Sequence(lambda n: f"Test branch {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    branch = factory.SubFactory(BranchFactory)
    role = Role.TELLER


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    branch = factory.SubFactory(BranchFactory)
    code = factory.Sequence(lambda n: f"svc{n}")
    name_zh = factory.Sequence(lambda n: f"业务{n}")
    name_en = factory.Sequence(lambda n: f"Service {n}")
    prefix = factory.Sequence(lambda n: "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[n % 26])
    target_wait_minutes = 15
    standard_handle_minutes = 5


class CounterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Counter
        skip_postgeneration_save = True

    branch = factory.SubFactory(BranchFactory)
    number = factory.Sequence(lambda n: n + 1)
    is_open = True

    @factory.post_generation
    def serves(obj, create, extracted, **kwargs):
        """CounterFactory(serves=[service_a, service_b]) in priority order."""
        if create and extracted:
            for rank, service in enumerate(extracted):
                CounterSkill.objects.create(counter=obj, service=service, rank=rank)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    phone = factory.Sequence(lambda n: f"139{n:08d}")
    name = factory.Sequence(lambda n: f"客户{n}")
    sms_consent = True


# --- Appointments (issue 9, H1) -----------------------------------------------------------------

from datetime import timedelta  # noqa: E402

from django.utils import timezone  # noqa: E402


class AppointmentPlanFactory(factory.django.DjangoModelFactory):
    """AppointmentPlanFactory(service=s): the plan's branch is the service's."""

    class Meta:
        model = "reception.AppointmentPlan"

    service = factory.SubFactory(ServiceFactory)
    branch = factory.LazyAttribute(lambda plan: plan.service.branch)
    slot_minutes = 30
    capacity = 2
    days_ahead = 14


class AppointmentFactory(factory.django.DjangoModelFactory):
    """A booked appointment written directly (no slot rules): for check-in, sweeps, pages."""

    class Meta:
        model = "reception.Appointment"

    service = factory.SubFactory(ServiceFactory)
    branch = factory.LazyAttribute(lambda a: a.service.branch)
    customer = factory.SubFactory(CustomerFactory)
    starts_at = factory.LazyFunction(timezone.now)
    ends_at = factory.LazyAttribute(lambda a: a.starts_at + timedelta(minutes=30))
    channel = "staff"
    created_at = factory.LazyAttribute(lambda a: a.starts_at - timedelta(days=1))


# --- H3: pre-filled forms (预填单) ------------------------------------------------------------


class ServiceFormFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "reception.ServiceForm"

    service = factory.SubFactory(ServiceFactory)
    branch = factory.SelfAttribute("service.branch")
    title_zh = "开户预填单"
    title_zh_hant = "開戶預填單"
    title_en = "Account opening form"


class FormFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "reception.FormField"

    form = factory.SubFactory(ServiceFormFactory)
    key = factory.Sequence(lambda n: f"field_{n}")
    kind = "text"
    label_zh = factory.Sequence(lambda n: f"字段{n}")
    label_en = factory.Sequence(lambda n: f"Field {n}")
    sort_order = factory.Sequence(lambda n: n)


# --- H7: care reminders (关怀提醒) -------------------------------------------------------------


class CareReminderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "crm.CareReminder"

    branch = factory.SubFactory(BranchFactory)
    customer = factory.SubFactory(CustomerFactory)
    kind = "manual"
    title = factory.Sequence(lambda n: f"Call back about the card {n}")
    due_on = factory.LazyFunction(lambda: timezone.localdate())
    created_at = factory.LazyFunction(timezone.now)


class CareRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "crm.CareRule"

    branch = factory.SubFactory(BranchFactory)
    kind = "deposit"
    days_before = 7


class DepositFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "crm.Deposit"

    customer = factory.SubFactory(CustomerFactory)
    branch = factory.SubFactory(BranchFactory)
    product = "3-year term"
    amount = 50000
    matures_on = factory.LazyFunction(lambda: timezone.localdate())


# --- H6: the customer record, regions -------------------------------------------------------


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "accounts.Region"

    code = factory.Sequence(lambda n: f"region-{n}")
    name = factory.Sequence(lambda n: f"片区{n}")
    name_en = factory.Sequence(lambda n: f"Region {n}")


class RegionMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "accounts.RegionMembership"

    user = factory.SubFactory(UserFactory)
    region = factory.SubFactory(RegionFactory)


# --- H5: counter handling (control points, error categories) ---------------------------------


class ControlPointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "reception.ControlPoint"

    service = factory.SubFactory(ServiceFactory)
    key = factory.Sequence(lambda n: f"point-{n}")
    label_zh = factory.Sequence(lambda n: f"控制点{n}")
    label_en = factory.Sequence(lambda n: f"Point {n}")
    required = False
    sort_order = factory.Sequence(lambda n: 100 + n)


class ErrorCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "reception.ErrorCategory"

    branch = factory.SubFactory(BranchFactory)
    code = factory.Sequence(lambda n: f"category-{n}")
    name_zh = factory.Sequence(lambda n: f"差错{n}")
    name_en = factory.Sequence(lambda n: f"Error {n}")
