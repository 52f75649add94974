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
