# The two commands of the README. Both set up (or reuse) ./.venv first; see tools/setup_env.sh.
PY := .venv/bin/python

.PHONY: setup demo test env

setup:
	bash tools/setup_env.sh

# The main job.
demo: setup
	$(PY) tools/demo.py

# The test suite (what CI runs through .ci/run). The engine tests run in a process of their own:
# in one process with all the other modules they died with SIGSEGV on a 2-core AVX2 machine
# (alone, they pass; the cause is not isolated).
test: setup
	$(PY) -m pytest tests -q -p no:cacheprovider --ignore=tests/test_deploy.py
	$(PY) -m pytest tests/test_deploy.py -q -p no:cacheprovider

env: setup
	$(PY) -m hourglass_plugin.env
