"""Demo content for service quality: knowledge base entries for the demo services (three
languages), the cash standard SOP-CASH whose clauses the demo control points name, and (helper
I's part, below) a checklist, a schedule and the duty roster.

Idempotent: entries are keyed by their Chinese question, standards by code; a second run
changes nothing that is already there. Bank-wide content (branch empty), as the platform
operator would publish it.
"""

from datetime import date, time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD
from accounts.models import Branch, Region, RegionMembership, RegionRole
from accounts.resilience import nudges_held
from quality.models import (
    Checklist,
    ChecklistItem,
    DutyShift,
    EntryStatus,
    InspectionFrequency,
    InspectionKind,
    InspectionSchedule,
    KnowledgeEntry,
    KnowledgeRevision,
    ServiceStandard,
    StandardClause,
    StandardVersion,
)
from quality.services.knowledge import KB_CONTENT_FIELDS, knowledge_search_text

# services, tags, (question zh, zh-Hant, en), (answer zh, zh-Hant, en)
KB_ENTRIES = [
    (
        ["card"],
        "挂失 补卡",
        ("银行卡挂失怎么办", "銀行卡掛失怎麼辦", "What to do when a bank card is lost"),
        (
            "先拨打客服热线或在手机银行临时挂失；再携带本人身份证到任一网点办理正式挂失和补卡，补卡约7个工作日。",
            "先撥打客服熱線或在手機銀行臨時掛失；再攜帶本人身份證到任一網點辦理正式掛失和補卡，補卡約7個工作日。",
            "Report the loss at once by the hotline or in the mobile app; then bring your ID to any "
            "branch for the formal report and a new card (about 7 working days).",
        ),
    ),
    (
        ["cash"],
        "大额 预约",
        (
            "大额取现需要预约吗",
            "大額取現需要預約嗎",
            "Do large cash withdrawals need an appointment",
        ),
        (
            "单笔取现5万元以上请提前一天预约，到网点时出示身份证。",
            "單筆取現5萬元以上請提前一天預約，到網點時出示身份證。",
            "Withdrawals above CNY 50,000 need booking one day ahead; bring your ID.",
        ),
    ),
    (
        ["cash", "transfer"],
        "限额 手机银行",
        ("转账限额是多少", "轉賬限額是多少", "What are the transfer limits"),
        (
            "柜台转账不设上限；手机银行默认单日限额5万元，可在柜台调整。",
            "櫃台轉賬不設上限；手機銀行默認單日限額5萬元，可在櫃台調整。",
            "No limit at the counter; the mobile app allows CNY 50,000 a day by default, which the "
            "counter can change.",
        ),
    ),
    (
        ["account"],
        "开户 证件",
        ("开户需要带什么证件", "開戶需要帶什麼證件", "What documents do I need to open an account"),
        (
            "本人有效身份证件和手机号码；代办需双方身份证及授权书。",
            "本人有效身份證件和手機號碼；代辦需雙方身份證及授權書。",
            "Your valid ID and mobile number; an agent needs both IDs and a power of attorney.",
        ),
    ),
    (
        ["loan"],
        "贷款 材料",
        (
            "个人贷款需要哪些材料",
            "個人貸款需要哪些材料",
            "What does a personal loan application need",
        ),
        (
            "身份证、收入证明、近六个月银行流水；房贷另需购房合同。",
            "身份證、收入證明、近六個月銀行流水；房貸另需購房合同。",
            "ID, proof of income and six months of bank statements; a mortgage also needs the "
            "purchase contract.",
        ),
    ),
    (
        ["wealth"],
        "风险评估",
        (
            "购买理财前为什么要做风险评估",
            "購買理財前為什麼要做風險評估",
            "Why a risk assessment before buying wealth products",
        ),
        (
            "监管要求按客户风险承受能力销售产品，评估结果有效期一年。",
            "監管要求按客戶風險承受能力銷售產品，評估結果有效期一年。",
            "Regulation requires selling products that match the customer's risk tolerance; the "
            "assessment is valid for a year.",
        ),
    ),
    (
        ["enquiry"],
        "营业时间",
        ("网点营业时间", "網點營業時間", "Branch opening hours"),
        (
            "周一至周五 9:00–17:00，周末及法定节假日以网点公告为准。",
            "週一至週五 9:00–17:00，週末及法定節假日以網點公告為準。",
            "Monday to Friday 9:00–17:00; weekends and holidays as posted at the branch.",
        ),
    ),
]

SOP_CASH = {
    "code": "SOP-CASH",
    "title": ("现金存取操作规程", "現金存取操作規程", "Cash deposit and withdrawal procedure"),
    "service_codes": ["cash"],
    "clauses": [
        (
            "3.1",
            "办理业务前核实客户身份：人证相符，证件在有效期内。",
            "辦理業務前核實客戶身份：人證相符，證件在有效期內。",
            "Verify the customer's identity before the service: the person matches a valid ID.",
        ),
        (
            "3.2",
            "请客户在凭条上签字确认，核对金额与账号。",
            "請客戶在憑條上簽字確認，核對金額與賬號。",
            "Have the customer sign the slip; check the amount and account number.",
        ),
        (
            "3.3",
            "当面点清并交付款项，唱收唱付。",
            "當面點清並交付款項，唱收唱付。",
            "Count and hand over the cash in front of the customer, saying the amounts aloud.",
        ),
    ],
}


class Command(BaseCommand):
    help = "Create demo knowledge base entries and service standards (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        # Every row with an outbox event would queue a delivery task ahead of the worker's
        # heartbeat (a fresh `make run` then waited minutes at 2 tasks/s on the filesystem
        # broker); beat's relay delivers them instead, as when the broker is down.
        with nudges_held():
            self._seed(*args, **options)

    def _seed(self, *args, **options) -> None:
        author = self._author()
        now = timezone.now()
        created = sum(self._entry(row, author, now) for row in KB_ENTRIES)
        self.stdout.write(f"Knowledge base: {created} entries created.")
        self._standard(SOP_CASH, author, now)
        self.stdout.write("Standard SOP-CASH ready (control points link 'SOP-CASH 3.1/3.2/3.3').")
        self.seed_inspections(author, now)

    def _author(self):
        users = get_user_model().objects
        author = (
            users.filter(is_superuser=True).order_by("pk").first() or users.order_by("pk").first()
        )
        if author is None:
            raise CommandError("Run seed_demo first: the content needs an author.")
        return author

    def _entry(self, row, author, now) -> int:
        service_codes, tags, questions, answers = row
        if KnowledgeEntry.objects.filter(branch__isnull=True, question_zh=questions[0]).exists():
            return 0
        entry = KnowledgeEntry(
            branch=None,
            service_codes=service_codes,
            tags=tags,
            question_zh=questions[0],
            question_zh_hant=questions[1],
            question_en=questions[2],
            answer_zh=answers[0],
            answer_zh_hant=answers[1],
            answer_en=answers[2],
            status=EntryStatus.PUBLISHED,
            version=1,
            created_by=author,
            created_at=now,
            updated_at=now,
            published_at=now,
            last_reviewed_at=now,
            reviewed_by=author,
        )
        entry.search_text = knowledge_search_text(entry)
        entry.save()
        KnowledgeRevision.objects.create(
            entry=entry,
            number=1,
            content={name: getattr(entry, name) for name in KB_CONTENT_FIELDS},
            published_at=now,
            published_by=author,
        )
        return 1

    def _standard(self, spec, author, now) -> None:
        standard, _ = ServiceStandard.objects.get_or_create(
            code=spec["code"],
            defaults={
                "title_zh": spec["title"][0],
                "title_zh_hant": spec["title"][1],
                "title_en": spec["title"][2],
                "service_codes": spec["service_codes"],
            },
        )
        if standard.versions.exists():
            return
        version = StandardVersion.objects.create(
            standard=standard,
            number=1,
            status=StandardVersion.Status.PUBLISHED,
            effective_from=date(2025, 1, 1),
            summary="首次发布",
            created_by=author,
            created_at=now,
            published_at=now,
            published_by=author,
        )
        StandardClause.objects.bulk_create(
            StandardClause(
                version=version,
                number=number,
                text_zh=zh,
                text_zh_hant=zh_hant,
                text_en=en,
                sort_order=order,
            )
            for order, (number, zh, zh_hant, en) in enumerate(spec["clauses"])
        )

    def seed_inspections(self, author, now) -> None:
        """The demo region with a regional head and an inspector, a mystery-shopper and an
        on-site checklist, the demo branch's schedules, and today's lobby duty."""
        branch = Branch.objects.filter(code="demo").first()
        if branch is None:
            return
        region, _ = Region.objects.get_or_create(
            code="east", defaults={"name": "华东区", "name_zh_hant": "華東區", "name_en": "East"}
        )
        if branch.region_id is None:
            branch.region = region
            branch.save(update_fields=["region"])
        users = get_user_model().objects
        for username, full_name, role in REGION_STAFF:
            user, created = users.get_or_create(
                username=username, defaults={"first_name": full_name}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            RegionMembership.objects.get_or_create(user=user, region=branch.region, role=role)
        for spec in CHECKLISTS:
            checklist, _ = Checklist.objects.get_or_create(
                code=spec["code"],
                defaults={
                    "kind": spec["kind"],
                    "name_zh": spec["name"][0],
                    "name_zh_hant": spec["name"][1],
                    "name_en": spec["name"][2],
                },
            )
            for order, (key, category, weight, photo, clause, texts) in enumerate(spec["items"]):
                ChecklistItem.objects.get_or_create(
                    checklist=checklist,
                    key=key,
                    defaults={
                        "category": category,
                        "weight": weight,
                        "evidence_required": photo,
                        "clause_ref": clause,
                        "text_zh": texts[0],
                        "text_zh_hant": texts[1],
                        "text_en": texts[2],
                        "sort_order": (order + 1) * 10,
                    },
                )
            InspectionSchedule.objects.get_or_create(
                branch=branch,
                checklist=checklist,
                defaults={"frequency": spec["frequency"], "starts_on": date(now.year, 1, 1)},
            )
        head = users.filter(username="head").first()
        today = timezone.localdate(now, branch.tz)
        if head and not DutyShift.objects.filter(branch=branch, date=today).exists():
            DutyShift.objects.create(
                branch=branch, user=head, date=today, starts_at=time(9, 0), ends_at=time(12, 0)
            )
        self.stdout.write(
            f"Region '{region.code}' with users "
            f"{', '.join(name for name, _full, _role in REGION_STAFF)}; "
            f"{len(CHECKLISTS)} checklists scheduled for '{branch.code}'; today's lobby duty."
        )


REGION_STAFF = [
    ("region", "周敏", RegionRole.HEAD),
    ("inspector", "吴刚", RegionRole.INSPECTOR),
]

# (key, category, weight, photo required, standard clause, (zh, zh-Hant, en))
CHECKLISTS = [
    {
        "code": "mystery-monthly",
        "kind": InspectionKind.MYSTERY_SHOPPER,
        "frequency": InspectionFrequency.MONTHLY,
        "name": ("神秘顾客月度检查", "神秘顧客月度檢查", "Monthly mystery shopper"),
        "items": [
            (
                "greeted",
                "manner",
                2,
                False,
                "",
                (
                    "进门 5 分钟内有人迎候",
                    "進門 5 分鐘內有人迎候",
                    "Greeted within 5 minutes of entering",
                ),
            ),
            (
                "ticket_explained",
                "process",
                1,
                False,
                "",
                (
                    "取号时说明等候人数与预计时间",
                    "取號時說明等候人數與預計時間",
                    "Told the people ahead and the expected wait",
                ),
            ),
            (
                "id_checked",
                "compliance",
                3,
                False,
                "SOP-CASH 3.1",
                ("办理前核实身份", "辦理前核實身份", "Identity checked before serving"),
            ),
            (
                "counter_tidy",
                "environment",
                1,
                True,
                "",
                (
                    "柜台整洁、无客户资料外露",
                    "櫃台整潔、無客戶資料外露",
                    "Counter tidy, no customer papers in view",
                ),
            ),
            (
                "farewell",
                "manner",
                1,
                False,
                "",
                (
                    "办结后致谢并邀请评价",
                    "辦結後致謝並邀請評價",
                    "Thanked and invited to rate the service",
                ),
            ),
        ],
    },
    {
        "code": "onsite-quarterly",
        "kind": InspectionKind.ON_SITE,
        "frequency": InspectionFrequency.QUARTERLY,
        "name": ("季度现场检查", "季度現場檢查", "Quarterly on-site inspection"),
        "items": [
            (
                "notices",
                "environment",
                1,
                True,
                "",
                ("公示信息齐全、有效", "公示資訊齊全、有效", "Public notices complete and current"),
            ),
            (
                "priority_seats",
                "environment",
                1,
                True,
                "",
                (
                    "爱心座椅与无障碍设施可用",
                    "愛心座椅與無障礙設施可用",
                    "Priority seats and accessibility aids usable",
                ),
            ),
            (
                "cash_counted",
                "compliance",
                3,
                False,
                "SOP-CASH 3.3",
                ("现金当面点清", "現金當面點清", "Cash counted with the customer"),
            ),
            (
                "complaints_log",
                "process",
                2,
                False,
                "",
                (
                    "投诉登记完整并按时处理",
                    "投訴登記完整並按時處理",
                    "Complaints logged and handled on time",
                ),
            ),
        ],
    },
]
