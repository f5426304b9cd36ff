#!/usr/bin/env bash
# Rebuild the bundled default tagger (src/biobert/models/ner-default) from ../shared/data.
# Takes ~1 h on 2 CPU cores; resumable: re-run the same command after a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
biobert finetune ner --config configs/ner/default_tagger.yaml "$@"
dest=src/biobert/models/ner-default
rm -rf "$dest"; mkdir -p "$dest"
# copy the model directory without training checkpoints
find runs/default-tagger -maxdepth 1 -type f -exec cp {} "$dest"/ \;
echo "bundled tagger written to $dest"; du -sh "$dest"
