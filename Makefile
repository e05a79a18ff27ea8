# The two commands of the README: `make run` and `make test`. Everything they
# need (venv, Python packages, system packages) is installed from here.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
VENV_STAMP := $(VENV)/.installed
MODEL := models/assistant.tar.gz
# Rasa 3.6 runs on Python 3.8-3.10 only; pyenv's shim may exist without 3.10 selected.
PYTHON310 := $(shell python3.10 -c 'import sys' >/dev/null 2>&1 && echo python3.10 || ls -d $$HOME/.pyenv/versions/3.10.*/bin/python3.10 /usr/bin/python3.10 2>/dev/null | tail -n 1)
# Settings (bot/config.py) exported for Rasa's ${VAR} placeholders; the project
# root on PYTHONPATH lets Rasa import the custom NLU component and actions.
WITH_ENV = eval "$$($(PY) -m bot env)" && export PYTHONPATH=$(CURDIR) &&
WIDGET_ASSETS := bot/widget/node_modules/.package-lock.json
TRAINING_INPUTS := config.yml $(shell find domain data bot/nlu bot/topics.py bot/accounts/checks.py bot/accounts/systems.py bot/input_screen.py -type f -not -name '*.pyc' 2>/dev/null)

.PHONY: help setup system-packages widget-assets train calibrate run cluster cluster-stop shell test test-fast lint validate test-stories test-python bench loadtest clean

help:
	@echo "make run    set up, train if the data changed, start the assistant"
	@echo "make shell  chat with the assistant in the terminal"
	@echo "make cluster       start the local production cluster (nginx, Rasa and action servers, PostgreSQL, Redis; docs/deploy.md)"
	@echo "make cluster-stop  stop it"
	@echo "make test   set up and run every test"
	@echo "make test-fast  the tests not marked integration (no real servers, browser or model)"
	@echo "make lint   ruff (lint and format) and mypy on bot/ and actions/ (part of make test)"
	@echo "make bench  measure latency, load and training time (docs/benchmark.md)"
	@echo "make loadtest  simulated users against the cluster at 1, 2 and 3 Rasa servers (docs/capacity.md)"
	@echo "make calibrate  choose the fallback thresholds on the validation set (docs/understanding.md)"

setup: $(VENV_STAMP) $(WIDGET_ASSETS)

$(VENV_STAMP): requirements.txt requirements-dev.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 not found (Rasa 3.6 needs 3.8-3.10)"; exit 1; }
	test -x $(PY) || $(PYTHON310) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<24" wheel
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip check
	touch $@

# The widget's front-end packages (socket.io client) from the npm registry,
# exactly as package-lock.json pins them; served by the assistant, no CDN.
widget-assets: $(WIDGET_ASSETS)

$(WIDGET_ASSETS): bot/widget/package.json bot/widget/package-lock.json
	@command -v npm >/dev/null || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm; }
	npm ci --prefix bot/widget --no-audit --no-fund --loglevel=error
	touch $@

# PostgreSQL and Redis for the integration tests of the shared-store setup
# (the tests start their own throw-away servers) and the local cluster, nginx
# its entry point (make cluster), Chromium and Chinese/emoji fonts for the
# widget's browser tests and screenshots (driven by Playwright; never
# `playwright install`), and docker-compose (1.29, Python) whose `config`
# validates deploy/compose.yaml offline: without its recommended docker.io,
# no daemon is needed for that.
system-packages:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	test -x /usr/sbin/nginx || missing="$$missing nginx"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	for font in fonts-wqy-microhei fonts-noto-color-emoji; do \
		dpkg -s $$font >/dev/null 2>&1 || missing="$$missing $$font"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	@command -v docker-compose >/dev/null || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends docker-compose; }

train: $(MODEL)

$(MODEL): $(VENV_STAMP) $(TRAINING_INPUTS)
	$(WITH_ENV) $(RASA) train --domain domain --fixed-model-name assistant --out models
	touch $@

# After the training data changes: the topic classifier's thresholds, chosen
# on tests/nlu/validation.yml and written into config.yml (then `make train`).
calibrate: $(VENV_STAMP)
	$(WITH_ENV) $(PY) tests/nlu/calibrate.py

# The demo accounts (bot/accounts/demo_accounts.yml) are (re)loaded on every run.
# For local development the REST channel (make shell, curl) needs no token from
# this machine unless REST_OPEN_LOCALLY is set otherwise (docs/security.md).
run: $(MODEL) $(WIDGET_ASSETS)
	$(WITH_ENV) $(PY) -m bot db seed-demo
	REST_OPEN_LOCALLY=$${REST_OPEN_LOCALLY:-true} $(PY) -m bot run

# The production set-up on this machine, every process supervised (bot/cluster.py,
# docs/deploy.md): nginx on RASA_PORT in front of CLUSTER_RASA_REPLICAS Rasa servers
# and CLUSTER_ACTION_SERVERS action servers, PostgreSQL and Redis. Returns when all
# answer; `make cluster-stop` stops every process.
cluster: $(MODEL) $(WIDGET_ASSETS) system-packages
	$(PY) -m bot cluster start

cluster-stop: $(VENV_STAMP)
	$(PY) -m bot cluster stop

shell: $(MODEL)
	$(PY) -m bot chat

# --fail-on-warnings misses warnings raised while loading the data; the grep
# fails the target on any warning Rasa itself prints.
validate: $(VENV_STAMP)
	@mkdir -p results
	$(WITH_ENV) $(RASA) data validate --domain domain --fail-on-warnings 2>&1 | tee results/validate.log
	@! grep -E "rasa/.*(UserWarning|FutureWarning)" results/validate.log

# Rasa's story test, the language entity aside (tests/stories/run.py says why).
test-stories: $(MODEL)
	$(WITH_ENV) $(PY) -m tests.stories.run test core --model $(MODEL) --stories tests/stories --e2e \
		--fail-on-prediction-errors --out results/stories

test-python: $(MODEL) $(WIDGET_ASSETS) system-packages
	$(WITH_ENV) $(PY) -m pytest tests

test: lint validate test-stories test-python

# Tests mirror bot/'s packages; those that start real servers (the assistant,
# Chromium, PostgreSQL, Redis) or load the model are marked `integration`.
test-fast: $(VENV_STAMP)
	$(WITH_ENV) $(PY) -m pytest -m "not integration" tests

# Settings in pyproject.toml. `ruff format bot actions` fixes the format.
lint: $(VENV_STAMP)
	$(VENV)/bin/ruff check bot actions
	$(VENV)/bin/ruff format --check bot actions
	$(VENV)/bin/mypy

bench: $(MODEL) $(WIDGET_ASSETS)
	$(WITH_ENV) $(PY) tests/bench/run_bench.py

# Not part of `make test` (its smoke and chaos forms are: tests/core/test_cluster.py).
# A fresh cluster per number of Rasa servers; results/loadtest-<time>.json and .md.
# Shorter: make loadtest LOAD_USERS=100 LOAD_SECONDS=60 LOAD_REPLICAS="1 2".
LOAD_USERS ?= 500
LOAD_SECONDS ?= 300
LOAD_REPLICAS ?= 1 2 3
loadtest: $(MODEL) $(WIDGET_ASSETS) system-packages
	$(PY) tests/bench/loadtest.py --users $(LOAD_USERS) --seconds $(LOAD_SECONDS) --replicas $(LOAD_REPLICAS)

clean:
	rm -rf models results var .pytest_cache
