#!/usr/bin/env bash
# Creates or reuses ./.venv with an OpenMMLab stack that works together under torch 2.13.
# Idempotent: every step leaves a stamp in .venv/.stamps and is skipped when its stamp is there,
# so a second run only checks the stamps. Delete .venv to start over.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv
STAMPS=$VENV/.stamps
PIP="$VENV/bin/python -m pip"

log() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# The exact versions are in requirements/stack.txt (setup.cfg has the ranges): pin NAME prints
# its line, e.g. torch==2.13.0.
pin() {
  local line
  line=$(grep -iE "^$1==" requirements/stack.txt) ||
    { echo "no pin for $1 in requirements/stack.txt" >&2; exit 1; }
  echo "$line"
}
for name in setuptools wheel ninja torch torchvision numpy opencv-python mmengine pytest mmcv \
    mmdet mmpose json-tricks munkres xtcocotools matplotlib pillow scipy h5py; do
  pin "$name" >/dev/null  # here, not inside $(...): a missing pin stops the script
done

step() {  # step NAME COMMAND...: run COMMAND once, remember it in a stamp
  local name=$1; shift
  if [[ -f $STAMPS/$name ]]; then return 0; fi
  log "$name ..."
  local t0=$SECONDS
  "$@"
  touch "$STAMPS/$name"
  log "$name done in $((SECONDS - t0)) s"
}

if [[ ! -x $VENV/bin/python ]]; then
  log "creating $VENV with $($PY --version)"
  "$PY" -m venv "$VENV"
fi
mkdir -p "$STAMPS"

# setuptools 80.9: torch 2.13 needs >= 77.0.3, and mmcv 2.1.0's setup.py still imports pkg_resources,
# which setuptools removes after 80.x. wheel and ninja serve the mmcv build.
step 01-build-tools $PIP install -q "$(pin setuptools)" "$(pin wheel)" "$(pin ninja)"

# torch 2.13.0 + torchvision 0.28.0 from the registry itself (--isolated skips this machine's pip
# configuration, which would pick the CPU-only torch wheel on disk). mmpose's PoseLocalVisualizer imports
# torchvision, and the registry's torchvision 0.28.0 links torch's CUDA libraries: it loads next to the
# registry's (CUDA) torch 2.13.0, which also runs on CPU-only machines, but not next to the CPU build.
step 02-torch $PIP --isolated install -q "$(pin torch)" "$(pin torchvision)"

# numpy < 2: xtcocotools (an mmpose requirement) ships wheels built against numpy 1.x;
# opencv-python < 4.11: later releases require numpy >= 2.
step 03-base $PIP install -q "$(pin numpy)" "$(pin opencv-python)" "$(pin mmengine)" "$(pin pytest)"

# mmcv 2.1.0 built with its compiled CPU ops: `import mmpose.models` imports mmcv.ops (EDPoseHead), so
# mmcv-lite cannot serve. --no-build-isolation builds against the torch installed above (an isolated
# build would pull another torch). pip caches the built wheel, so the ~10 min build happens once a machine.
step 04-mmcv env MMCV_WITH_OPS=1 MAX_JOBS=2 $PIP install -q --no-build-isolation "$(pin mmcv)"

# mmdet 3.3.0: asserts mmcv < 2.2.0; mmpose 1.3.2 imports it.
step 05-mmdet $PIP install -q "$(pin mmdet)"

# mmpose 1.3.2 without chumpy (does not build; mmpose uses it only for SMPL): install it without its
# dependency list, then the rest of that list by hand.
step 06-mmpose bash -c "$PIP install -q --no-deps '$(pin mmpose)' && \
  $PIP install -q '$(pin json-tricks)' '$(pin munkres)' '$(pin xtcocotools)' \
  '$(pin matplotlib)' '$(pin pillow)' '$(pin scipy)' '$(pin numpy)'"

# h5py reads Newell et al.'s MPII validation files (tools/dataset_converters/newell_valid2mpii.py).
step 07-data $PIP install -q "$(pin numpy)" "$(pin h5py)"

# ONNX export and the inference engines (setup.cfg's `deploy` extra, pinned): numpy stays < 2.
step 08-deploy $PIP install -q "$(pin numpy)" -r requirements/deploy.txt

# this package, editable, without re-resolving the stack above.
step 09-plugin $PIP install -q --no-deps --no-build-isolation -e .

# flake8, isort and pre-commit for `make lint` (what `make test` runs first).
step 10-lint $PIP install -q -r requirements/lint.txt

log "environment ready: $VENV"
