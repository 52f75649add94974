"""BranchFlow settings, read from the environment (twelve-factor).

Defaults are safe for production: DEBUG is off and HTTPS-only cookies are on unless asked
otherwise. `make run` asks for DEBUG; without DATABASE_URL / REDIS_URL everything runs on the
embedded default (SQLite, a filesystem Celery broker, a file cache) so a fresh clone needs no server.
"""

import hashlib
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# A development key is only acceptable with DEBUG; production must set its own.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or (
    "dev-only-insecure-key-do-not-use-in-production" if DEBUG else ""
)
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=1 for development).")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "csp",
    # Brute-force protection for /login/, /admin/login/ and API basic auth.
    "axes",
    # Who changed memberships, roles, branch settings and consent, when, before/after.
    "auditlog",
    # Foundation (like contrib.auth): branches, staff membership and roles.
    "accounts",
    # Domain apps; dependencies point one way (docs/architecture.md).
    "queueing",
    "crm",
    "reception",
    "feedback",
    "kpi",
    "quality",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything looks up a token, a session or a form: a NUL is a 400 (PostgreSQL
    # refuses NUL in text, so it would otherwise end as a 500).
    "accounts.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Records the signed-in user as the actor of audited changes.
    "accounts.audit.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.headers.CSPMiddleware",
    # Staff responses carry customers' data: never stored by a browser or proxy cache.
    "accounts.headers.StaffNoStoreMiddleware",
    # Last: turns axes' lockout into the locked-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.staff_context",
                "config.context_processors.screens",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'branchflow.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
# A kept connection may have been closed by a database restart while idle (long-lived Celery
# workers): test it before reuse instead of failing the next task.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Behind PgBouncer in transaction pooling (docs/scaling.md) server-side cursors must be off.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
    "DB_DISABLE_SERVER_SIDE_CURSORS", default=False
)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, worker and beat share the file without "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's PostgreSQL backend whose health check polls the socket instead of sending
    # SELECT 1: one round trip per request less (config/db/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "config.db.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
# Cache keys and pub/sub channels carry the database's identity: two installations (or a test
# run and a benchmark) sharing one Redis or one cache directory never read each other's
# sessions, users, branch set-ups or queue versions, whose ids would collide.
INSTANCE_KEY = env.str(
    "INSTANCE_KEY",
    default=hashlib.sha256(
        "{HOST}:{PORT}/{NAME}".format_map(
            {
                "HOST": "",
                "PORT": "",
                **DATABASES["default"],
                "NAME": str(DATABASES["default"]["NAME"]),
            }
        ).encode()
    ).hexdigest()[:10],
)
CACHE_KEY_PREFIX = f"branchflow:{INSTANCE_KEY}"
# Redis is an accelerator, never a dependency for serving (docs/operations.md): a dead Redis may
# cost a request at most the connect timeout, once; then a circuit breaker skips it for
# REDIS_BREAKER_SECONDS and callers use their fallback (accounts/resilience.py).
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=0.1)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.25)
REDIS_BREAKER_SECONDS = env.float("REDIS_BREAKER_SECONDS", default=5.0)
# A live service (config.asgi under config/gunicorn_live.py) answers /queue/live/…: screens
# then get server-sent events and API clients a long-poll. Off: screens poll the version.
LIVE_SSE = env.bool("LIVE_SSE", default=False)
if REDIS_URL:
    CACHES = {
        # Throttles, heartbeat: while Redis is down, a per-process memory cache stands in.
        "default": {
            "BACKEND": "accounts.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        },
        # Live screens' queue version: its truth is the database, so a down Redis is a miss.
        "live": {
            "BACKEND": "accounts.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"FALLBACK": "none"},
        },
        # Sessions, signed-in users, staff memberships, branch set-ups: shared by every process
        # and invalidated on change, so while Redis is down it misses (the database answers)
        # rather than keep a per-process copy another process's change could not reach.
        "shared": {
            "BACKEND": "accounts.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"FALLBACK": "none"},
        },
    }
else:
    # A file cache is shared by the web, worker and beat processes (locmem would not be).
    _file_cache = {
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache"),
    }
    CACHES = {"default": _file_cache, "live": _file_cache, "shared": _file_cache}
# Sessions are read from the shared cache and written through to the database
# (accounts/sessions.py); users and memberships are cached the same way (accounts/backends.py).
SESSION_ENGINE = "accounts.sessions"
SESSION_CACHE_ALIAS = "shared"
SESSION_CACHE_SECONDS = env.int("SESSION_CACHE_SECONDS", default=300)
AUTH_USER_CACHE_SECONDS = env.int("AUTH_USER_CACHE_SECONDS", default=300)
# A branch's services, counters and skills (queueing.selectors.branch_setup): dropped on change.
QUEUE_SETUP_CACHE_SECONDS = env.int("QUEUE_SETUP_CACHE_SECONDS", default=3600)
# Each process keeps its own copy this long (queueing.selectors.branch_setup): a set-up change
# made through another process reaches it within this time.
QUEUE_SETUP_LOCAL_SECONDS = env.float("QUEUE_SETUP_LOCAL_SECONDS", default=5.0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out user or address is refused before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, reading the signed-in user from the shared cache.
    "accounts.backends.CachedModelBackend",
]
# --- Login lockout (django-axes): after LOGIN_FAILURE_LIMIT failures for one username, or from
# one address, further attempts are refused for LOGIN_LOCKOUT_MINUTES. Attempts are logged in
# the database (admin: Axes) and in the log.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.int("LOGIN_LOCKOUT_MINUTES", default=15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no banner on every manage.py command; lockouts are still logged
AXES_LOCKOUT_CALLABLE = "accounts.lockout.locked_out"
# The client's address is REMOTE_ADDR. Behind the reverse proxy, config/wsgi.py is the one place
# that believes X-Forwarded-For, and only from the proxies listed here (addresses or networks,
# comma-separated: compose pins nginx's address); the application never reads that header
# itself. "*" would let any client name its own address (the left-most entry is theirs to
# write), so it is refused.
FORWARDED_ALLOW_IPS = [host for host in env.list("FORWARDED_ALLOW_IPS", default=[]) if host]
if "*" in FORWARDED_ALLOW_IPS:
    raise environ.ImproperlyConfigured(
        "FORWARDED_ALLOW_IPS=* would believe any client's X-Forwarded-For: list the proxies'"
        " addresses (e.g. 172.28.5.10 or 10.0.0.0/24)."
    )
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [
    ("zh-hans", _("Simplified Chinese")),
    ("zh-hant", _("Traditional Chinese")),
    ("en", _("English")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Server default; every branch has its own time zone and pages render in it.
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "staticfiles")
# Uploaded inspection photos and evidence: served only through quality's permission-checked
# view, never under a public URL (no MEDIA_URL route).
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security: on by default, relaxed only where asked (development, tests behind plain HTTP).
HTTPS = env.bool("DJANGO_HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's negotiation, without parsing the usual Accept headers on every request.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "accounts.negotiation.QuickContentNegotiation",
    # Documents the 400/403/404/413/429 each operation really gives (accounts/schema.py).
    "DEFAULT_SCHEMA_CLASS": "accounts.schema.BranchFlowAutoSchema",
    # Bounded limit/offset, body size and JSON nesting: bad input is a 4xx, never a 500.
    "DEFAULT_PAGINATION_CLASS": "accounts.api.BoundedLimitOffsetPagination",
    "DEFAULT_PARSER_CLASSES": [
        "accounts.parsers.BoundedJSONParser",
        "accounts.parsers.BoundedFormParser",
        "accounts.parsers.BoundedMultiPartParser",
    ],
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "accounts.api.exception_handler",
    # Throttles key on REMOTE_ADDR (see AXES_IPWARE_META_PRECEDENCE_ORDER), never on a raw
    # X-Forwarded-For a client can write itself.
    "NUM_PROXIES": 0,
    "DEFAULT_THROTTLE_RATES": {
        "survey": env.str("SURVEY_THROTTLE_RATE", default="30/hour"),
        # Public pages (accounts/throttle.py), per client address. A branch's guest Wi-Fi puts
        # many phones behind one address, each fetching its status on every queue change.
        "public_page": env.str("PUBLIC_PAGE_THROTTLE_RATE", default="600/min"),
        "survey_page": env.str("SURVEY_PAGE_THROTTLE_RATE", default="60/min"),
        # The customer's /visit/ pages (verify, book, manage, the QR poster), per address.
        "visit_page": env.str("VISIT_PAGE_THROTTLE_RATE", default="120/min"),
        # Verification codes sent from one address (SMS costs money: no pumping through us).
        "visit_sms": env.str("VISIT_SMS_THROTTLE_RATE", default="20/hour"),
        # The SMS gateway's receipts and replies (/survey/hooks/sms/…), per gateway address.
        "sms_hook": env.str("SMS_HOOK_THROTTLE_RATE", default="600/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "BranchFlow API",
    "DESCRIPTION": "Bank-branch reception: queueing, CRM, feedback and KPIs.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the installed sidecar package: no CDN, and it passes our strict CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets that share a field name get a name of their own.
    "ENUM_NAME_OVERRIDES": {
        "VisitChannelEnum": "reception.models.Visit.Channel",
        "CareReminderStatusEnum": "crm.models.CareReminder.Status",  # care reminders (issue 7)
        # complaints (issue 7)
        "ComplaintStatusEnum": "crm.models.Complaint.Status",
        "ComplaintChannelEnum": "crm.models.Complaint.Channel",
        "ComplaintSeverityEnum": "crm.models.Severity",
        "ServiceErrorSeverityEnum": "reception.models.ServiceError.Severity",  # vs complaints'
    },
}

# --- Celery: Redis when REDIS_URL is set; otherwise kombu's filesystem transport (no server).
CELERY_BROKER_DIR = VAR_DIR / "celery"
if REDIS_URL:
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
    # Publishing a task is a nudge (accounts.resilience.enqueue): one quick try, no retry loop,
    # so a teller's request never waits on a dead broker. The worker's consumer reconnects by
    # its own loop (broker_connection_retry), unaffected.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.1,
        "interval_max": 0.1,
        "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        # Broadcast/control messages (ping, heartbeat); kombu's default is ./control.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
        # kombu polls the folder once a second by default and takes ~2 messages a poll: a
        # backlog of nudges then held beat's heartbeat for minutes.
        "polling_interval": 0.1,
    }
CELERY_TASK_IGNORE_RESULT = True
# The worker logs through LOGGING above (masking formatter), not a root handler of its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "accounts.tasks.heartbeat", "schedule": 30.0},
    # The outbox sweep: delivers what after-commit nudges missed (docs/architecture.md).
    "outbox-relay": {
        "task": "accounts.tasks.relay_outbox",
        "schedule": env.float("OUTBOX_SWEEP_SECONDS", default=10.0),
    },
    "outbox-purge": {"task": "accounts.tasks.purge_outbox", "schedule": crontab(hour=4, minute=0)},
    # KPI rollups (docs/kpi.md): days the outbox marked, today's live figures, the last week.
    "kpi-recompute-dirty": {"task": "kpi.tasks.recompute_dirty", "schedule": 60.0},
    "kpi-recompute-today": {"task": "kpi.tasks.recompute_today", "schedule": 300.0},
    "feedback-send-due": {
        "task": "feedback.tasks.send_due_invitations",
        "schedule": env.float("SURVEY_SWEEP_SECONDS", default=60.0),
    },
    "crm-anonymise-expired": {
        "task": "crm.tasks.anonymise_expired_customers",
        "schedule": crontab(hour=3, minute=30),
    },
    # Appointments: reminder SMS due, and bookings whose window passed become no-shows.
    "reception-appointment-reminders": {
        "task": "reception.tasks.queue_appointment_reminders",
        "schedule": 300.0,
    },
    "reception-appointment-no-shows": {
        "task": "reception.tasks.mark_appointment_no_shows",
        "schedule": 300.0,
    },
    "reception-purge-form-answers": {
        "task": "reception.tasks.purge_form_answers",
        "schedule": crontab(hour=3, minute=45),
    },
    "reception-purge-phone-verifications": {
        "task": "reception.tasks.purge_phone_verifications",
        "schedule": 3600.0,
    },
    # Lobby alerts (reception.services.lobby_alerts_refresh): raised and cleared for the record.
    "reception-lobby-alerts": {
        "task": "reception.tasks.refresh_lobby_alerts",
        "schedule": env.float("LOBBY_ALERT_SECONDS", default=60.0),
    },
    # Remote tickets whose turn passed before their customer checked in: grace, then no-show.
    "queueing-sweep-remote": {
        "task": "queueing.tasks.sweep_remote_tickets",
        "schedule": env.float("REMOTE_SWEEP_SECONDS", default=60.0),
    },
    "kpi-recompute-recent": {
        "task": "kpi.tasks.recompute_recent",
        "schedule": crontab(hour=2, minute=15),
    },
    # Care reminders (issue 7): the branches' care rules (deposits, ID expiry, VIP birthdays).
    "crm-care-rules": {
        "task": "crm.tasks.apply_care_rules",
        "schedule": crontab(hour=6, minute=0),
    },
    # Complaints (issue 7): reminders before a deadline, escalation after a missed one.
    "crm-complaint-deadlines": {
        "task": "crm.tasks.check_complaint_deadlines",
        "schedule": 900.0,
    },
    # Findings (quality): reminders before the deadline, escalation after it (idempotent).
    "quality-findings": {
        "task": "quality.tasks.check_findings",
        "schedule": crontab(minute=10),
    },
}

# --- Quality (issue 10): findings and benchmarking (docs/quality.md).
QUALITY_FINDING_DAYS = env.int("QUALITY_FINDING_DAYS", default=14)
QUALITY_FINDING_REMIND_DAYS = env.int("QUALITY_FINDING_REMIND_DAYS", default=3)
QUALITY_ESCALATION_DAYS = env.int("QUALITY_ESCALATION_DAYS", default=7)
QUALITY_BENCHMARK_TOP_SHARE = 0.2
QUALITY_BENCHMARK_MIN_SCORE = 90.0
QUALITY_IMPROVE_BOTTOM_SHARE = 0.2
QUALITY_IMPROVE_BELOW = 70.0
QUALITY_BENCHMARK_WEIGHTS = {"inspection": 0.5, "within_target": 0.2, "csat": 0.2, "nps": 0.1}

# --- SMS: the setting names the backend class (console, file, or a real gateway later).
SMS_BACKEND = env.str("SMS_BACKEND", default="feedback.sms.ConsoleBackend")
SMS_FILE_PATH = env.path("SMS_FILE_PATH", default=VAR_DIR / "sms" / "outbox.jsonl")
# A real gateway (feedback.sms.HttpGatewayBackend or .AliyunBackend; docs/operations.md).
SMS_GATEWAY_URL = env.str("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_KEY = env.str("SMS_GATEWAY_KEY", default="")
SMS_GATEWAY_SECRET = env.str("SMS_GATEWAY_SECRET", default="")
SMS_TEMPLATE_ID = env.str("SMS_TEMPLATE_ID", default="")
SMS_SIGNATURE = env.str("SMS_SIGNATURE", default="BranchFlow")  # the registered 【…】 sign name
SMS_GATEWAY_TIMEOUT_SECONDS = env.float("SMS_GATEWAY_TIMEOUT_SECONDS", default=10.0)
SMS_ALIYUN_ENDPOINT = env.str("SMS_ALIYUN_ENDPOINT", default="dysmsapi.aliyuncs.com")
# Delivery receipts and replies posted to /survey/hooks/sms/…: HMAC-SHA256 of the body with
# this secret in X-Signature. Empty: the hooks refuse everything.
SMS_WEBHOOK_SECRET = env.str("SMS_WEBHOOK_SECRET", default="")
# A worker claiming an invitation holds it this long; if it dies, the sweep re-claims it after.
SURVEY_SEND_LEASE_SECONDS = env.int("SURVEY_SEND_LEASE_SECONDS", default=120)
# Links in SMS must be absolute; the branch's public address.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

# --- Audit trail (django-auditlog; admin: Log entries). Personal data is stored masked.
AUDITLOG_INCLUDE_TRACKING_MODELS = (
    "accounts.Branch",
    "accounts.BranchClosedDay",
    "accounts.Membership",
    # Reception's configuration (issue 6): what is bookable, and the forms customers fill in.
    "reception.AppointmentPlan",
    "reception.ServiceForm",
    "reception.FormField",
    {
        "model": "crm.Customer",
        "include_fields": [
            "name",
            "phone",
            "other_phone",
            "id_number",
            "id_expires_on",
            "birth_date",
            "preferred_language",
            "sms_consent",
            "sms_consent_at",
            "sms_consent_source",
            "sms_consent_wording",
            "is_vip",
            "tier",
            "merged_into",
            "merged_at",
            "anonymised_at",
        ],
        "mask_fields": ["name", "phone", "other_phone", "id_number", "birth_date"],
    },
)
AUDITLOG_MASK_CALLABLE = "crm.personal_data.mask_phone"

# --- /healthz/ details (which part failed) need `Authorization: Bearer <HEALTHZ_TOKEN>` or a
# superuser's session; anyone else gets the status word only. Empty: superusers only.
HEALTHZ_TOKEN = env.str("HEALTHZ_TOKEN", default="")

# --- Outbox (accounts/outbox.py): durable domain events.
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=12)  # ~11 hours of backoff
OUTBOX_SWEEP_LIMIT = env.int("OUTBOX_SWEEP_LIMIT", default=2000)
OUTBOX_RETENTION_DAYS = env.int("OUTBOX_RETENTION_DAYS", default=14)
# After commit, new events are delivered by a worker ("task": the request does not wait for the
# listeners) or in the process that made the change ("inline": the tests, a one-process setup).
OUTBOX_NUDGE = env.str("OUTBOX_NUDGE", default="task")
# "task": events committed within this window of each other go to the worker as one task (a task
# cost the request ~1 ms of CPU, a tenth of a busy counter's); 0 sends one task per commit.
OUTBOX_NUDGE_WINDOW_MS = env.int("OUTBOX_NUDGE_WINDOW_MS", default=200)

# --- Personal data: customers not seen for this long are anonymised by a nightly task.
CRM_RETENTION_DAYS = env.int("CRM_RETENTION_DAYS", default=5 * 365)

# --- Complaints (issue 7, crm.services.complaints): deadlines in working days by severity,
# (acknowledge, resolve), used where a branch has no ComplaintDeadline row for that severity.
COMPLAINT_DEFAULT_DEADLINES = {"high": (1, 3), "medium": (1, 5), "low": (2, 10)}
COMPLAINT_DEFAULT_REMIND_DAYS_BEFORE = 1
# Pre-filled form answers (ID numbers among them) are erased this long after they were given:
# they spare the teller's keying, and the bank's own systems keep what was done.
PREFILL_RETENTION_DAYS = env.int("PREFILL_RETENTION_DAYS", default=90)

# --- SMS consent: the version of the wording customers agree to (kept with each consent).
SMS_CONSENT_WORDING_VERSION = env.str("SMS_CONSENT_WORDING_VERSION", default="2026-01")

# --- Surveys
SURVEY_LINK_MAX_AGE_DAYS = env.int("SURVEY_LINK_MAX_AGE_DAYS", default=7)
SURVEY_DELAY_MINUTES = env.int("SURVEY_DELAY_MINUTES", default=0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_personal_data": {"()": "accounts.logging.MaskPersonalDataFilter"}},
    "formatters": {
        "plain": {
            "()": "accounts.logging.MaskingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_personal_data"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # runserver's request lines, through our masking formatter instead of Django's own.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
