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
# Nameko 2.14 imports pkg_resources and eventlet announces its maintenance mode at every
# start; both are known (docs/architecture.md, "Versions") and would bury real warnings.
QUIET_FRAMEWORK := -W "ignore::UserWarning:nameko.cli.main" -W "ignore::Warning:nameko.cli.commands"

.PHONY: install run run-split restart-service stop-split test test-unit demo bench clean

install: $(VENV)/.installed

# Reinstalls only when the dependency list or the pinned set changes.
$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip<27" "setuptools<81" wheel
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

run: install
	$(BIN)/communs run

# One process per service, as docker-compose runs them; pids and logs under the data dir.
# chorus-sandbox is the local Chorus Pro billing deposits on while COMMUNS_CHORUS_API_URL is unset
# (at COMMUNS_CHORUS_SANDBOX_ADDRESS, 127.0.0.1:8090 by default); prefecture-sandbox the local
# prefecture e-administration transmits to while COMMUNS_PREFECTURE_URL is unset (127.0.0.1:8091);
# operator-sandbox the local SMS and voice operator while COMMUNS_OPERATOR_API_URL is unset (8092).
run-split: install
	@mkdir -p $(COMMUNS_DATA_DIR)/log
	@for service in chorus-sandbox prefecture-sandbox operator-sandbox identity subscriptions billing eadmin eservices procurement \
	    opendata participation alerting accessibility gateway; do \
	  nohup $(BIN)/communs run $$service > $(COMMUNS_DATA_DIR)/log/$$service.out 2>&1 & \
	  echo "started $$service (pid $$!)"; \
	done

restart-service: install
	@test -n "$(SERVICE)" || (echo "usage: make restart-service SERVICE=identity" && exit 2)
	@pid_file=$(COMMUNS_DATA_DIR)/run/$(SERVICE).pid; \
	if [ -f $$pid_file ]; then kill -TERM $$(cat $$pid_file) && \
	  while kill -0 $$(cat $$pid_file 2>/dev/null) 2>/dev/null; do sleep 0.2; done; fi
	@mkdir -p $(COMMUNS_DATA_DIR)/log
	@nohup $(BIN)/communs run $(SERVICE) > $(COMMUNS_DATA_DIR)/log/$(SERVICE).out 2>&1 & \
	  echo "restarted $(SERVICE) (pid $$!)"

stop-split:
	@for pid_file in $(COMMUNS_DATA_DIR)/run/*.pid; do \
	  [ -f $$pid_file ] && kill -TERM $$(cat $$pid_file) && echo "stopped $$(basename $$pid_file .pid)"; \
	done; true

test: install
	$(BIN)/python $(QUIET_FRAMEWORK) -m nameko test $(PYTEST_ARGS)

test-unit: install
	$(BIN)/python $(QUIET_FRAMEWORK) -m nameko test -m "not broker and not postgres" $(PYTEST_ARGS)

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
