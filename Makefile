# make run   set up everything and serve the demo portal on http://127.0.0.1:5000
# make test  run the whole test suite (SQLite, PostgreSQL, Chromium)

VENV   := .venv
PY     := $(VENV)/bin/python
PORTAL := $(VENV)/bin/portal
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test install assets translations browser lint-kb bench bench-mail bench-hardening clean messages

run: install
	$(PORTAL) db upgrade
	$(PORTAL) seed-demo
	$(PORTAL) kb reindex
	@echo
	@echo "Serving the portal on http://$(HOST):$(PORT), with a worker delivering its mail to instance/mail/  (Ctrl+C stops both)"
	@$(PORTAL) worker --poll 1 & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT; \
	  $(PORTAL) run --host $(HOST) --port $(PORT)

install: $(VENV)/.installed assets translations

$(VENV)/bin/python:
	python3 -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# Front-end libraries come from the npm registry (package-lock.json pins them)
# into a git-ignored folder of static/; nothing is loaded from a CDN.
assets: static/vendor/htmx.min.js

static/vendor/htmx.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js

translations: $(VENV)/.installed
	@$(VENV)/bin/pybabel compile -d portal/translations >/dev/null

# Browser tests drive Debian's Chromium; the shared rate-limit test runs Debian's
# redis-server, the mail tests its Dovecot. Install them when missing and we may.
browser:
	@missing=""; [ -x /usr/bin/chromium ] || missing="chromium"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	[ -x /usr/sbin/dovecot ] || missing="$$missing dovecot-imapd"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    .ci/apt-install $$missing >/dev/null; \
	  else echo "Some tests need Debian's$$missing: sudo apt-get install$$missing"; fi; \
	fi

# The whole suite. With PORTAL_TEST_DATABASE_URL unset and pg_virtualenv
# available, the database tests also run on a throwaway PostgreSQL cluster.
test: install browser
	@if [ -z "$$PORTAL_TEST_DATABASE_URL" ] && command -v pg_virtualenv >/dev/null 2>&1; then \
	  pg_virtualenv -o fsync=off sh -c 'PORTAL_TEST_DATABASE_URL="postgresql+psycopg://$$PGUSER:$$PGPASSWORD@$$PGHOST:$$PGPORT/$$PGDATABASE" $(PY) -m pytest $(PYTEST_ARGS)'; \
	else \
	  $(PY) -m pytest $(PYTEST_ARGS); \
	fi

lint-kb: install
	$(PORTAL) kb check

bench: install
	$(PY) bench/search.py

# Inbound mail over IMAP (Dovecot: `make browser` installs it) and the outbox's delivery, on SQLite
# and, with pg_virtualenv, PostgreSQL. Sizes: make bench-mail BENCH_ARGS="--messages 5000".
bench-mail: install
	@if [ -z "$$PGHOST" ] && command -v pg_virtualenv >/dev/null 2>&1; then \
	  pg_virtualenv -o fsync=off $(PY) bench/mail.py $(BENCH_ARGS); \
	else \
	  $(PY) bench/mail.py $(BENCH_ARGS); \
	fi

# Issue 14's proof: a mixed load on gunicorn (4 workers) on PostgreSQL for 60 s, one worker killed
# half-way; exits 1 on a server error or a missing write. Without PG* variables the script runs itself
# under pg_virtualenv. Shorter: make bench-hardening BENCH_ARGS="--seconds 10".
bench-hardening: install
	$(PY) bench/hardening.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache

# After changing interface strings: refresh the catalog, then translate the
# new entries in portal/translations/es/LC_MESSAGES/messages.po.
messages: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 \
	  --no-location --sort-output -o portal/translations/messages.pot .
	$(VENV)/bin/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching
