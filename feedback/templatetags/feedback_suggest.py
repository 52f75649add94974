"""`{{ branch.pk|suggest_url }}`: the suggestion box's link for a branch's lobby poster."""

from django import template
from django.urls import reverse

from ..links import suggest_token

register = template.Library()


@register.filter
def suggest_url(branch_id: int) -> str:
    return reverse("feedback:suggest", args=[suggest_token(int(branch_id))])
