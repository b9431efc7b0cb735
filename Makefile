# The two commands of the README. Both set up (or reuse) ./.venv first; see tools/setup_env.sh.
PY := .venv/bin/python

.PHONY: setup demo test env

setup:
	bash tools/setup_env.sh

# The main job.
demo: setup
	$(PY) tools/demo.py

# The test suite (what CI runs through .ci/run): the engine tests in a process of their own, so
# that OpenVINO's and ONNX Runtime's native state meets no other module's.
test: setup
	$(PY) -m pytest tests -q -p no:cacheprovider --ignore=tests/test_deploy.py
	$(PY) -m pytest tests/test_deploy.py -q -p no:cacheprovider

env: setup
	$(PY) -m hourglass_plugin.env
