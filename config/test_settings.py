"""Test settings: the real database from DATABASE_URL, plain HTTP, fast password hashing."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")

from config.settings import *  # noqa: F403
from config.settings import VAR_DIR

HTTPS = False
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SMS_BACKEND = "feedback.sms.LocmemBackend"
SMS_FILE_PATH = VAR_DIR / "test-sms" / "outbox.jsonl"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Per-process cache, emptied before every test (tests/conftest.py): throttles and queue versions
# must not leak between tests or runs. Tests that need Redis talk to REDIS_URL directly.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "default"},
    "live": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "live"},
    "shared": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "shared"},
}
# Assertions read English source strings; tests of Chinese screens switch language explicitly.
LANGUAGE_CODE = "en"
# Deliver outbox events in-process after commit, as tests assert on listeners' effects at once
# (tests/test_outbox.py covers the production nudge through a task).
OUTBOX_NUDGE = "inline"
