"""Drop cached copies (accounts.backends, accounts.selectors) when what they copy changes.

Bulk QuerySet.update() sends no signal: code that bulk-updates users or memberships calls
forget_users() itself (accounts.admin does).
"""

from collections.abc import Iterable

from django.conf import settings
from django.core.cache import caches
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .backends import user_cache_key
from .models import Branch, Membership, RegionMembership
from .selectors import staff_access_key


def forget_users(user_ids: Iterable[object]) -> None:
    keys = []
    for user_id in set(user_ids):
        keys += [user_cache_key(user_id), staff_access_key(user_id)]
    if keys:
        caches["shared"].delete_many(keys)


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.forget_user_saved")
@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.forget_user_deleted")
def forget_user(sender, instance, **kwargs) -> None:
    forget_users([instance.pk])


@receiver(post_save, sender=Membership, dispatch_uid="accounts.forget_membership_saved")
@receiver(post_delete, sender=Membership, dispatch_uid="accounts.forget_membership_deleted")
def forget_member(sender, instance: Membership, **kwargs) -> None:
    forget_users([instance.user_id])


@receiver(post_save, sender=RegionMembership, dispatch_uid="accounts.forget_region_role_saved")
@receiver(post_delete, sender=RegionMembership, dispatch_uid="accounts.forget_region_role_deleted")
def forget_region_member(sender, instance: RegionMembership, **kwargs) -> None:
    forget_users([instance.user_id])


@receiver(post_save, sender=Branch, dispatch_uid="accounts.forget_branch_saved")
@receiver(post_delete, sender=Branch, dispatch_uid="accounts.forget_branch_deleted")
def forget_branch_staff(sender, instance: Branch, **kwargs) -> None:
    # The branch's members hold copies of it (name, time zone, rules) in their access entry.
    forget_users(Membership.objects.filter(branch_id=instance.pk).values_list("user_id", flat=True))
