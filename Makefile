# The README's commands. Each sets up (or reuses) ./.venv first; see tools/setup_env.sh.
PY := .venv/bin/python
PYTEST := $(PY) -m pytest -q -p no:cacheprovider

.PHONY: setup demo lint test test-fast env

setup:
	bash tools/setup_env.sh

# The main job.
demo: setup
	$(PY) -m tools.demo

# flake8 and isort through pre-commit (.pre-commit-config.yaml, configured in setup.cfg).
lint: setup
	PATH="$(CURDIR)/.venv/bin:$$PATH" $(PY) -m pre_commit run --all-files --show-diff-on-failure

# Everything, in one pytest process (what CI runs through .ci/run).
test: setup lint
	$(PYTEST) tests

# All but the end-to-end tests and the OS's measurements (marked slow): under two minutes.
test-fast: setup
	$(PYTEST) tests -m "not slow"

env: setup
	$(PY) -m hourglass_plugin.env
