"""Drop a branch's cached set-up (queueing.selectors.branch_setup) whenever it changes."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Counter, CounterSkill, Service
from .selectors import forget_branch_setup

# A counter's own state changes all day (open, pause, who sits there); the set-up keeps only
# its number and label, so those saves leave it alone.
COUNTER_STATE_FIELDS = frozenset({"is_open", "is_paused", "teller"})


@receiver(post_save, sender=Service, dispatch_uid="queueing.setup_service_saved")
@receiver(post_delete, sender=Service, dispatch_uid="queueing.setup_service_deleted")
def forget_for_service(sender, instance: Service, **kwargs) -> None:
    forget_branch_setup(instance.branch_id)


@receiver(post_save, sender=Counter, dispatch_uid="queueing.setup_counter_saved")
def forget_for_counter_saved(sender, instance: Counter, update_fields=None, **kwargs) -> None:
    if update_fields is not None and set(update_fields) <= COUNTER_STATE_FIELDS:
        return
    forget_branch_setup(instance.branch_id)


@receiver(post_delete, sender=Counter, dispatch_uid="queueing.setup_counter_deleted")
def forget_for_counter_deleted(sender, instance: Counter, **kwargs) -> None:
    forget_branch_setup(instance.branch_id)


@receiver(post_save, sender=CounterSkill, dispatch_uid="queueing.setup_skill_saved")
@receiver(post_delete, sender=CounterSkill, dispatch_uid="queueing.setup_skill_deleted")
def forget_for_skill(sender, instance: CounterSkill, **kwargs) -> None:
    branch_id = Counter.objects.filter(pk=instance.counter_id).values_list("branch_id", flat=True)
    for value in branch_id:
        forget_branch_setup(value)
