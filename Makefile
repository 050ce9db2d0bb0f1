# The two commands: `make serve` and `make test`. Each does all set-up itself.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install chromium postgres redis nginx systemd serve serve-cluster test lint format bench bench-cluster bench-scale bench-hops bench-isolation bench-session-cost soak docs docs-build matrix screenshot bench-screens

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Debian's chromium for the browser tests (never `playwright install`).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Debian's PostgreSQL for the model and admin tests (devtools/postgres.py starts
# a throwaway server from it; nothing is left running).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; }

# Debian's redis-server and nginx for the cluster tests and `make serve-cluster`
# (devtools/redis.py starts a throwaway server; nothing is left running).
redis:
	@command -v redis-server >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server >/dev/null; }

nginx:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nginx >/dev/null; }

# The demo runs as deployed: DEBUG off, a secret key of its own (made once in
# .demo-secret-key), marimo's frontend collected once into staticfiles/.
# DJANGO_DEBUG=1 make serve runs it in debug mode instead.
DEMO_ENV = DJANGO_SECRET_KEY="$$(cat .demo-secret-key)"

.demo-secret-key:
	@umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@

staticfiles/.collected: $(STAMP) .demo-secret-key
	$(DEMO_ENV) $(PY) manage.py collectstatic --noinput -v0
	touch $@

# systemd-analyze, for the test that verifies the units in deploy/systemd/.
systemd:
	@command -v systemd-analyze >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq systemd >/dev/null; }

serve: install .demo-secret-key staticfiles/.collected
	$(DEMO_ENV) $(PY) manage.py migrate --noinput -v0
	$(DEMO_ENV) $(PY) manage.py shell -v0 -c "from project.demo import create_demo_users, create_demo_notebooks; create_demo_users(); create_demo_notebooks()"
	@echo "Serving the demo notebooks at http://127.0.0.1:8000/  (Ctrl-C stops)"
	$(DEMO_ENV) $(VENV)/bin/daphne -b 127.0.0.1 -p 8000 --websocket_connect_timeout 30 project.asgi:application

# The demo with kernels in worker processes: redis-server, 2 daphne fronts,
# 2 notebook workers and nginx balancing round-robin on 127.0.0.1:8000
# (docs/scaling.md). Ctrl-C stops all of it.
serve-cluster: install redis nginx .demo-secret-key
	$(DEMO_ENV) $(PY) manage.py migrate --noinput -v0
	$(DEMO_ENV) $(PY) manage.py shell -v0 -c "from project.demo import create_demo_users, create_demo_notebooks; create_demo_users(); create_demo_notebooks()"
	$(DEMO_ENV) $(PY) -m devtools.serve_cluster

# ruff, then mypy strict on notebook_host/ ([tool.mypy] in pyproject.toml).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy notebook_host

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The docs built strictly; the whole suite on SQLite (the package test
# included: it builds the wheel and serves it from a fresh venv; the cluster
# tier starts its own redis-server, fronts, workers and nginx); the model
# and admin tests (marker "postgres") again on a throwaway PostgreSQL server;
# then the unit and live tiers on the other Python/Django combinations (nox).
test: install chromium postgres redis nginx systemd lint docs-build
	$(VENV)/bin/pytest
	NOTEBOOK_HOST_ASGI_SERVER=uvicorn $(VENV)/bin/pytest -q -p no:cacheprovider $(FRONT_TESTS)
	$(PY) -m devtools.postgres $(VENV)/bin/pytest -q -m postgres --ds=tests.projects.postgres.settings -p no:cacheprovider
	$(VENV)/bin/nox -s subset

# The front tier: the tests of what an ASGI server touches (sockets, the kernel
# API, origins, faults, SIGTERM, a cluster's fronts, the slider in Chromium),
# again under uvicorn, the other supported server (docs/deployment.md).
FRONT_TESTS = tests/live/test_consumers_live.py tests/live/test_views_live.py \
	tests/live/test_origin_live.py tests/live/test_shutdown.py tests/live/test_faults_live.py \
	tests/live/test_closecodes_live.py tests/live/workers/test_cluster_faults_live.py \
	tests/browser/test_browser.py

# Every combination of the matrix (noxfile.py), whole suite and PostgreSQL.
matrix: install postgres chromium
	$(VENV)/bin/nox -s tests

# The documentation site at http://127.0.0.1:8001/, rebuilt on every edit.
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve -a 127.0.0.1:8001

# Every warning (a broken link, a missing anchor or page) is an error. Not
# --quiet: it hides the warnings from the count, and the build passes.
docs-build: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

# The README's screenshot, from the demo under daphne in headless Chromium.
screenshot: install chromium
	$(PY) -m project.screenshot docs/img/demo.png

# notebook_host against plain marimo (bench/compare/, ~12 min), the demo as
# deployed (DEBUG off, collectstatic): every figure in 3 interleaved runs
# (A B A B A B), medians and spreads, the targets met or missed, a screenshot
# comparison; writes bench/results/<date>-production-static.json and .png.
bench: install chromium
	$(PY) -m bench.compare --production-static

# Kernel isolation, "process" against "thread" (bench/isolation.py, a few
# minutes): page open, change round trip, memory per session, memory return.
bench-isolation: install
	$(PY) -m bench.isolation

# Only the screenshot phase of `make bench` (~1 min): the dashboard on the demo
# as deployed and on plain marimo, pixel by pixel (devtools/screens.py); writes
# notebook_host.png, plain_marimo.png, diff.png and the figures to build/screens/.
bench-screens: install chromium
	$(PY) -m bench.compare --production-static --only screens --out build/screens

# Kernels in worker processes (bench/cluster.py, ~7 min): plain marimo (and with the entry-point patch),
# local kernels, 1 and 2 workers behind nginx; prints a table, writes
# bench/results/<date>-cluster-<layer>.json. LAYER=core measures the core layer.
LAYER ?= pubsub
bench-cluster: install chromium redis nginx
	$(PY) -m bench.cluster --layer $(LAYER)

# Scale-out against marimo (bench/scale/, ~1 min at the defaults): F fronts x W
# workers, K sticky plain + patch processes and one plain marimo process under
# N sessions from P load clients; writes bench/results/<date>-scale.json.
# SCALE passes the size, e.g. SCALE="--fronts 4 --workers 8 --sticky 8 --sessions 200 --clients 8".
SCALE ?=
bench-scale: install redis
	$(PY) -m bench.scale $(SCALE)

# Where a forwarded POST spends its time with 1 worker (bench/hops.py, ~2 min):
# py-spy samples the fronts and the worker; writes bench/results/<date>-hops-<layer>.json.
bench-hops: install redis nginx
	$(PY) -m bench.hops --layer $(LAYER)

# Server CPU per session start and per change, and a 100-session round, local
# kernels under daphne and uvicorn against plain marimo + patch, interleaved
# (bench/session_cost.py, ~8 min); writes bench/results/<date>-session-cost.json.
bench-session-cost: install
	$(PY) -m bench.session_cost

# Load and soak (bench/soak.py, ~8 min): 100 simulated users open, use and
# close dashboard tabs for 5 minutes on a real daphne; prints the figures and
# PASS/FAIL per check (exit 1 on a FAIL), writes bench/results/soak-<date>.json.
soak: install
	$(PY) -m bench.soak
