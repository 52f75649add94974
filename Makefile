# BranchFlow — two commands: `make run` and `make test`. See README.md.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make run PORT=8106` when 8000 is taken.
PORT ?= 8000
# Absolute links (SMS, display-board QR codes) point at the development server.
PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)

.PHONY: run test install var migrate seed lint format check messages clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "BranchFlow needs Python 3.11 or newer"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Runtime files of the embedded (no-server) setup: SQLite, the filesystem broker, file cache, SMS outbox.
var:
	@mkdir -p var/celery/queue var/celery/processed var/cache var/sms var/staticfiles

migrate: install var
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --noinput

seed: migrate
	DJANGO_DEBUG=1 PUBLIC_BASE_URL=$(PUBLIC_BASE_URL) $(BIN)/python manage.py seed_demo
	DJANGO_DEBUG=1 PUBLIC_BASE_URL=$(PUBLIC_BASE_URL) $(BIN)/python manage.py seed_reception_demo
	DJANGO_DEBUG=1 PUBLIC_BASE_URL=$(PUBLIC_BASE_URL) $(BIN)/python manage.py seed_quality_demo
	# Five past working days pushed through the real services (manage.py simulate_day), so the
	# dashboards have a history (beat rolls them up); days already there are skipped.
	DJANGO_DEBUG=1 PUBLIC_BASE_URL=$(PUBLIC_BASE_URL) $(BIN)/python manage.py seed_demo --simulate-days 5

# Web on http://127.0.0.1:$(PORT) plus a Celery worker and beat; Ctrl-C stops all three (honcho).
run: seed
	DJANGO_DEBUG=1 PUBLIC_BASE_URL=$(PUBLIC_BASE_URL) $(BIN)/honcho -f Procfile.dev start --port $(PORT)

test: install var
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=config.test_settings
	DJANGO_SETTINGS_MODULE=config.test_settings $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Production settings (no DEBUG, HTTPS on) must pass Django's deployment checklist.
check: install
	DJANGO_DEBUG=0 DJANGO_HTTPS=1 \
	DJANGO_SECRET_KEY=check-only-$$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') \
	DJANGO_ALLOWED_HOSTS=branch.example.com $(BIN)/python manage.py check --deploy --fail-level WARNING

messages: install
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemessages -l zh_Hans -l zh_Hant -l en --ignore=.venv --ignore=var
	DJANGO_DEBUG=1 $(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf var
