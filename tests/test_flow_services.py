"""The walking skeleton through services: door -> ticket -> counter -> CRM -> survey -> KPIs."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from crm.models import Interaction
from feedback import services as feedback_services
from feedback.models import SurveyInvitation
from feedback.sms import LocmemBackend
from kpi.selectors import today_summary
from queueing import services as queue
from queueing.states import TicketStatus
from reception import services as reception
from reception.models import Visit


@time_machine.travel(datetime(2026, 11, 23, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai")), tick=True)
@pytest.mark.django_db(transaction=True)
def test_it_carries_one_visit_from_the_door_to_the_survey(
    branch, cash, counter, lobby_manager, teller, eager_celery
):
    visit = reception.visit_register(
        branch=branch,
        registered_by=lobby_manager,
        phone="138 0013 8000",
        service=cash,
        name="张三",
        sms_consent=True,
    )
    assert visit.route == Visit.Route.QUEUE
    assert visit.ticket.code == "A001"
    assert visit.customer.phone == "13800138000"

    queue.counter_open(counter=counter, teller=teller)
    called = queue.ticket_call_next(counter=counter, teller=teller)
    assert called.pk == visit.ticket.pk
    queue.ticket_start(ticket_id=called.pk, by=teller)
    reception.visit_complete_service(
        ticket=called,
        teller=teller,
        outcome=Visit.Outcome.COMPLETED,
        identity_verified=True,
        funds_handed_over=True,
    )

    called.refresh_from_db()
    assert called.status == TicketStatus.DONE
    interaction = Interaction.objects.get(source=f"ticket:{called.pk}")
    assert interaction.kind == Interaction.Kind.BRANCH_SERVICE
    invitation = SurveyInvitation.objects.get(interaction=interaction)
    assert invitation.status == SurveyInvitation.Status.SENT
    (sms,) = LocmemBackend.outbox
    assert sms.to == "13800138000"
    token = sms.body.rsplit("/survey/", 1)[1].split("/")[0]
    feedback_services.response_submit(token=token, satisfaction=5, recommend=9)

    summary = today_summary(branch=branch)
    assert summary["figures"].served == 1
    assert summary["avg_satisfaction"] == 5
