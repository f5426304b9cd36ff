#!/usr/bin/env bash
# The checks that need a GPU, for a machine that has one: the test suite with CUDA visible (every `device: auto`
# path then runs on the GPU) and benchmarks/device_speed.py (tagging and fine-tuning speed per precision, with F1).
#
#   OUT=runs/gpu_check BIOBERT_DATA=../shared/data bash scripts/gpu_check.sh
#
# Uses the machine's own python3 (PY=...) with src/ on the path, so nothing is installed; wheels in .whl/ (packages
# that machine lacks: bioc, seqeval, fastapi, ...) are unpacked to /tmp/site first. Writes gpu.txt, device_speed.json
# and .log, pytest.log and junit.xml to $OUT. SPEED_TIMEOUT / TEST_TIMEOUT bound each part (seconds).
set -u
cd "$(dirname "$0")/.."  # from anywhere, as the other scripts
OUT=${OUT:-runs/gpu_check}
PY=${PY:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
if ls .whl/*.whl >/dev/null 2>&1; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
  export PYTHONPATH=/tmp/site
fi
# absolute: tests start subprocesses in other directories
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; nproc
  $PY -c "import sys, torch, transformers, tokenizers; print(sys.version.split()[0], torch.__version__, torch.version.cuda, transformers.__version__, tokenizers.__version__, torch.cuda.is_available())"
} > "$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"
t0=$SECONDS
timeout "${SPEED_TIMEOUT:-150}" $PY benchmarks/device_speed.py --out "$OUT/device_speed.json" > "$OUT/device_speed.log" 2>&1
echo "device_speed rc=$? in $((SECONDS - t0)) s"; grep -E "^  (tag|F1|finetune)" "$OUT/device_speed.log"
t0=$SECONDS
timeout "${TEST_TIMEOUT:-360}" $PY -m pytest -q -p no:cacheprovider -rfE --durations=15 --junitxml "$OUT/junit.xml" tests > "$OUT/pytest.log" 2>&1
echo "pytest rc=$? in $((SECONDS - t0)) s"; grep -E "^(FAILED|ERROR)|passed|failed" "$OUT/pytest.log" | tail -40
