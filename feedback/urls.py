from django.urls import path

from . import views

app_name = "feedback"

urlpatterns = [
    path("<str:token>/", views.survey, name="survey"),
    path("<str:token>/opt-out/", views.survey_opt_out, name="survey_opt_out"),
    # Issue 8 (H11): the counter rating pad (paired by its token) and the phone survey screen.
    path("pad/<str:token>/", views.pad, name="pad"),
    path("pad/<str:token>/state/", views.pad_state, name="pad_state"),
    path("pad/<str:token>/answer/", views.pad_answer, name="pad_answer"),
    path("staff/phone/", views.phone_survey_list, name="phone_survey_list"),
    path("staff/phone/<int:interaction_id>/", views.phone_survey, name="phone_survey"),
    # Issue 8 (H10): the SMS gateway's delivery receipts and customers' replies (signed).
    path("hooks/sms/receipt/", views.sms_receipt_hook, name="sms_receipt_hook"),
    path("hooks/sms/inbound/", views.sms_inbound_hook, name="sms_inbound_hook"),
    # Issue 8 (H12): the closed loop, the suggestion box, the branch head's feedback page.
    path("suggest/<str:token>/", views.suggest_public, name="suggest"),
    path("staff/suggestions/", views.suggestion_list, name="suggestions"),
    path("staff/suggestions/<int:pk>/answer/", views.suggestion_answer, name="suggestion_answer"),
    path("staff/follow-ups/", views.follow_up_list, name="follow_ups"),
    path("staff/follow-ups/<int:pk>/", views.follow_up_detail, name="follow_up"),
    path(
        "staff/follow-ups/<int:pk>/<str:action>/",
        views.follow_up_action,
        name="follow_up_action",
    ),
    path("staff/report/", views.feedback_report, name="report"),
]
