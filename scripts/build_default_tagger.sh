#!/usr/bin/env bash
# Rebuild the bundled default tagger (src/biobert/models/ner-default) from ../shared/data.
# Takes ~1 h on 2 CPU cores; resumable: re-run the same command after a crash.
# Extra arguments go to `biobert finetune ner` (e.g. --set train.seed=7); OUT=dir trains elsewhere first,
# INSTALL=0 leaves the bundled model as it is (to compare before replacing it).
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
OUT=${OUT:-runs/default-tagger}
biobert finetune ner --config configs/ner/default_tagger.yaml --set "out=$OUT" "$@"
if [ "${INSTALL:-1}" = "1" ]; then
  dest=src/biobert/models/ner-default
  rm -rf "$dest"; mkdir -p "$dest"
  # copy the model directory without training checkpoints
  find "$OUT" -maxdepth 1 -type f -exec cp {} "$dest"/ \;
  echo "bundled tagger written to $dest"; du -sh "$dest"
fi
