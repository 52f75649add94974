"""kpi listens to the outbox: a ticket that ended marks its branch's local day for a rebuild
(kpi.tasks.recompute_dirty picks it up within a minute).

Only topics that are written anyway (reception listens to them): a listener on a topic nobody
listens to yet (issued, called) would add an INSERT to the teller's hot path
(tests/test_query_budget.py). What has no event here is caught by beat: today's live figures
every five minutes (recompute_today), late survey answers, complaint steps and reminders done
(kpi.services.kpi_days_mark_changed), and the last week every night (recompute_recent).
"""

from accounts.models import OutboxEvent
from accounts.outbox import listener
from queueing import events

from . import services


@listener(events.TICKET_FINISHED, events.TICKET_NO_SHOW, name="kpi.mark_day")
def mark_day(event: OutboxEvent) -> None:
    # One statement: the ticket's (branch, business date) upserted as dirty.
    services.kpi_day_mark_dirty_for_ticket(ticket_id=event.payload["ticket_id"])
