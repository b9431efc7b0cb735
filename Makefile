# The two commands of the README. Both set up (or reuse) ./.venv first; see tools/setup_env.sh.
PY := .venv/bin/python

.PHONY: setup demo test env

setup:
	bash tools/setup_env.sh

# The main job.
demo: setup
	$(PY) tools/demo.py

# The test suite (what CI runs through .ci/run).
test: setup
	$(PY) -m pytest tests -q -p no:cacheprovider

env: setup
	$(PY) -m hourglass_plugin.env
