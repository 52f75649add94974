"""`{% customer_reminders customer %}`: the care reminders section of the CRM customer card
(crm/_reminders.html), with the data it needs, so the customer page's view need not know it."""

from django import template

from accounts.timeutil import branch_today

from ..selectors import reminder_may_close, reminders_for_customer
from ..views.reminders import ReminderCreateForm

register = template.Library()


@register.inclusion_tag("crm/_reminders.html", takes_context=True)
def customer_reminders(context, customer) -> dict:
    request = context["request"]
    branch = getattr(request, "branch", None)
    if branch is None or customer is None:
        return {"show": False}
    roles = getattr(request, "roles", set())
    reminders = reminders_for_customer(customer=customer, branch=branch)
    return {
        "show": True,
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "customer": customer,
        "today": branch_today(branch),
        "rows": [
            {
                "reminder": r,
                "may_close": r.status == "open"
                and reminder_may_close(reminder=r, user=request.user, roles=roles),
            }
            for r in reminders
        ],
        "create_form": ReminderCreateForm(branch=branch, auto_id="reminder_%s"),
    }
