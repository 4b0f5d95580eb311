# Two commands set everything up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
export COMMUNS_DATA_DIR ?= $(CURDIR)/var
export AMQP_URI ?= amqp://guest:guest@127.0.0.1:5672/
export RABBIT_API_URI ?= http://guest:guest@127.0.0.1:15672
export COMMUNS_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
SERVICE ?=
# Tests run after eventlet has patched the socket module; trio (selenium's) registers a
# hypothesis plugin and anyio a pytest plugin whose import of trio fails on a patched socket.
export HYPOTHESIS_NO_PLUGINS := 1
# Nameko 2.14 imports pkg_resources and eventlet announces its maintenance mode at every
# start; both are known (docs/architecture.md, "Versions") and would bury real warnings.
QUIET_FRAMEWORK := -W "ignore::UserWarning:nameko.cli.main" -W "ignore::Warning:nameko.cli.commands"

.PHONY: install run run-split restart-service stop-split test test-unit chaos demo bench clean

install: $(VENV)/.installed

# Reinstalls only when the dependency list or the pinned set changes.
$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip<27" "setuptools<81" wheel
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

run: install
	$(BIN)/communs run

# One process per service, as docker-compose runs them: the local stand-ins of the outside
# systems, the migrations once (`communs migrate`, every service), the bus topology (every
# event queue declared before anyone publishes), then each service and the gateway, each pid in
# $(COMMUNS_DATA_DIR)/pids/<name>.pid and its output in log/<name>.out; done when all answer.
# chorus-sandbox is the local Chorus Pro billing deposits on while COMMUNS_CHORUS_API_URL is unset
# (at COMMUNS_CHORUS_SANDBOX_ADDRESS, 127.0.0.1:8090 by default); prefecture-sandbox the local
# prefecture e-administration transmits to while COMMUNS_PREFECTURE_URL is unset (127.0.0.1:8091);
# operator-sandbox the local SMS and voice operator while COMMUNS_OPERATOR_API_URL is unset (8092).
SPLIT_SANDBOXES := chorus-sandbox prefecture-sandbox operator-sandbox
SPLIT_SERVICES := identity subscriptions billing eadmin eservices procurement opendata \
	participation alerting accessibility
# Seconds to wait for every process to answer, and between SIGTERM and SIGKILL (compose's 30 s).
START_WAIT ?= 120
STOP_GRACE ?= 30

run-split: install
	$(BIN)/communs start $(SPLIT_SANDBOXES)
	$(BIN)/communs migrate $(SPLIT_SERVICES)
	$(BIN)/communs topology
	$(BIN)/communs start $(SPLIT_SERVICES) gateway
	@$(BIN)/communs ping $(SPLIT_SANDBOXES) $(SPLIT_SERVICES) gateway --wait $(START_WAIT) >/dev/null
	@echo "every service answers; the gateway at $${COMMUNS_HTTP_ADDRESS:-127.0.0.1:8000}"

# Stops one process (SIGTERM, SIGKILL after STOP_GRACE s), migrates it if it is a service (an
# upgrade may bring revisions), starts it again with this environment and waits until it answers.
restart-service: install
	@test -n "$(SERVICE)" || (echo "usage: make restart-service SERVICE=identity" && exit 2)
	$(BIN)/communs stop $(SERVICE) --grace $(STOP_GRACE)
	$(if $(filter $(SERVICE),$(SPLIT_SERVICES)),$(BIN)/communs migrate $(SERVICE))
	$(BIN)/communs start $(SERVICE)
	@$(BIN)/communs ping $(SERVICE) --wait $(START_WAIT) > /dev/null && echo "$(SERVICE) answers"

stop-split:
	$(BIN)/communs stop --grace $(STOP_GRACE)

test: install
	$(BIN)/python $(QUIET_FRAMEWORK) -m nameko test $(PYTEST_ARGS)

test-unit: install
	$(BIN)/python $(QUIET_FRAMEWORK) -m nameko test -m "not broker and not postgres" $(PYTEST_ARGS)

# The fault tests at full scale (1,000 changes, outages of tens of seconds), their table printed at
# the end and kept in $(COMMUNS_DATA_DIR)/chaos/latest.json; `make test` runs them shorter.
chaos: install
	COMMUNS_CHAOS_SCALE=full $(BIN)/python $(QUIET_FRAMEWORK) -m nameko test tests/chaos $(PYTEST_ARGS)

# Against a running `make run`: registers the 2022–2024 convention through the gateway and
# prints Annex 1 and Lavérune's 2022 title; fails if it is not 150.11 € (README, "make demo").
demo: install
	$(BIN)/python -m demo

# Figures of the running suite beside the framework's baselines (README, "Figures"). The bench
# times argon2 with identity's rules, which import eventlet first in that process.
bench: install
	$(BIN)/python $(QUIET_FRAMEWORK) -W "ignore::Warning:services.identity.rules" -m bench

clean:
	rm -rf $(VENV) var
