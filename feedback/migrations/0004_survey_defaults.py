"""Every existing branch gets the default survey, published as version 1 (new branches get it
on first use: feedback.services.survey_ensure)."""

from django.db import migrations
from django.utils import timezone

# A copy (a migration does not import code that may change later).
DEFAULT_QUESTIONS = [
    ("waiting", "rating", True, ("您对等候时间满意吗？", "您對等候時間滿意嗎？", "How satisfied were you with the waiting time?")),
    ("attitude", "rating", True, ("您对员工的服务态度满意吗？", "您對員工的服務態度滿意嗎？", "How satisfied were you with the staff's attitude?")),
    ("professionalism", "rating", True, ("您对员工的专业程度满意吗？", "您對員工的專業程度滿意嗎？", "How satisfied were you with the staff's professionalism?")),
    ("environment", "rating", True, ("您对网点环境满意吗？", "您對網點環境滿意嗎？", "How satisfied were you with the branch's environment?")),
    ("recommend", "nps", False, ("您有多大可能向朋友推荐我们？", "您有多大可能向朋友推薦我們？", "How likely are you to recommend us to a friend?")),
    ("comment", "comment", False, ("您还有什么想告诉我们的吗？（选填）", "您還有甚麼想告訴我們的嗎？（選填）", "Anything else you would like to tell us? (optional)")),
]  # fmt: skip


def _snapshot(questions):
    return [
        {
            "key": q.key,
            "kind": q.kind,
            "required": q.required,
            "service_code": q.service_code,
            "text": {"zh-hans": q.text_zh, "zh-hant": q.text_zh_hant, "en": q.text_en},
        }
        for q in questions
    ]


def create_default_surveys(apps, schema_editor):
    Branch = apps.get_model("accounts", "Branch")
    SurveyDefinition = apps.get_model("feedback", "SurveyDefinition")
    SurveyQuestion = apps.get_model("feedback", "SurveyQuestion")
    SurveyVersion = apps.get_model("feedback", "SurveyVersion")
    for branch in Branch.objects.exclude(pk__in=SurveyDefinition.objects.values("branch_id")):
        survey = SurveyDefinition.objects.create(branch=branch)
        questions = SurveyQuestion.objects.bulk_create(
            SurveyQuestion(
                survey=survey,
                key=key,
                kind=kind,
                required=required,
                text_zh=texts[0],
                text_zh_hant=texts[1],
                text_en=texts[2],
                sort_order=(n + 1) * 10,
            )
            for n, (key, kind, required, texts) in enumerate(DEFAULT_QUESTIONS)
        )
        SurveyVersion.objects.create(
            survey=survey, number=1, questions=_snapshot(questions), created_at=timezone.now()
        )


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0003_issue8_feedback"),
    ]

    operations = [migrations.RunPython(create_default_surveys, migrations.RunPython.noop)]
