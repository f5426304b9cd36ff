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
  # only a finished run replaces the bundled model: `--help`, or anything else that exits 0 without training,
  # used to delete it and copy nothing
  for f in model.safetensors config.json biobert.json report.json README.md; do
    if [ ! -f "$OUT/$f" ]; then
      echo "$OUT/$f is missing: no finished run in $OUT; the bundled tagger in $dest is left as it is" >&2
      exit 1
    fi
  done
  rm -rf "$dest"; mkdir -p "$dest"
  # copy the model directory without training checkpoints
  find "$OUT" -maxdepth 1 -type f -exec cp {} "$dest"/ \;
  echo "bundled tagger written to $dest"; du -sh "$dest"
fi
