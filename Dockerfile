# BranchFlow production image: the web service (Granian, WSGI), the live service (gunicorn +
# uvicorn workers, ASGI), Celery worker and beat.
# One image, three roles: docker-compose.yml picks the command. See docs/operations.md.

# --- Build: dependencies into a virtualenv, translations compiled, static files collected.
FROM python:3.12-slim AS build

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# gettext: msgfmt for compilemessages (build stage only).
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md* ./
RUN pip install .

COPY . .
# A throwaway key: these commands need settings to load, not to sign anything.
RUN export DJANGO_SECRET_KEY=build-only-not-a-secret STATIC_ROOT=/app/staticfiles \
    && python manage.py collectstatic --noinput --verbosity 0 \
    && if ls locale/*/LC_MESSAGES/django.po >/dev/null 2>&1; then \
         python manage.py compilemessages --ignore=.venv --verbosity 0; \
       fi

# --- Runtime: no compilers, no gettext, no pip cache; code owned by root, read-only to the app.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=config.settings \
    STATIC_ROOT=/app/staticfiles

RUN groupadd --system --gid 10001 branchflow \
    && useradd --system --uid 10001 --gid branchflow --home-dir /app/var --no-create-home \
       --shell /usr/sbin/nologin branchflow

COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
# var/: beat's schedule file and the file SMS backend's outbox; the only writable place.
# (var/beat and var/media exist here so the named volumes mounted on them start owned by the
# app user.)
RUN mkdir -p /app/var/sms /app/var/beat /app/var/media \
    && chown -R branchflow:branchflow /app/var

USER branchflow
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; host = os.environ.get('DJANGO_ALLOWED_HOSTS', 'localhost').split(',')[0].strip().lstrip('.').replace('*', 'localhost'); u.urlopen(u.Request('http://127.0.0.1:8000/healthz/', headers={'Host': host}), timeout=4)"]

CMD ["python", "-m", "config.serve"]
