"""Tagging a large file: chunked streaming (`biobert.tagging.tag_file`) against reading and tagging it whole.

    python benchmarks/tag_file_memory.py [--input '{data}/raw/pubmed_text/chr.txt'] [--docs 2000] [--threads 1]

The input is text with one abstract per line (the raw PubMed corpus). Its first ``--docs`` lines
are copied to a work file; each mode then runs in a fresh subprocess (so peak memory is its own),
tags the file with the bundled tagger and writes JSONL:

* ``whole``: ``io.read`` everything, ``tagger(all documents)``, ``io.write``;
* ``chunked``: ``tag_file(..., chunk_docs=N)`` (read, tag, write N documents at a time).

Reports, per mode, the peak resident memory of the subprocess (``ru_maxrss``), the wall time and
documents/s, and checks that both outputs are identical. Modes alternate (whole, chunked, chunked,
whole) so that load from other jobs falls on both.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from biobert.settings import expand_path

CHILD = r"""
import json, resource, sys, time
import torch
torch.set_num_threads(int(sys.argv[4]))
from biobert import Tagger, io
from biobert.tagging import tag_file
mode, src, dst, chunk = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[5])
tagger = Tagger.load()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
if mode == "whole":
    docs = tagger(io.read(src, fmt="text", lines=True))
    io.write(docs, dst, fmt="jsonl")
    n = len(docs)
else:
    n = tag_file(tagger, src, dst, input_format="text", output_format="jsonl", chunk_docs=chunk, progress=False, lines=True)["documents"]
dt = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"mode": mode, "documents": n, "seconds": round(dt, 2), "docs_per_s": round(n / dt, 2),
                  "peak_rss_mib": round(peak / 1024, 1), "rss_after_load_mib": round(base / 1024, 1)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", default="{data}/raw/pubmed_text/chr.txt")
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--chunk-docs", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="runs/bench/tag_file_memory")
    args = ap.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    src = out / "input.txt"
    with open(expand_path(args.input), encoding="utf-8") as f, open(src, "w", encoding="utf-8") as g:
        n = 0
        for line in f:
            if line.strip():
                g.write(line)
                n += 1
                if n == args.docs:
                    break
    results = []
    for i, mode in enumerate(("whole", "chunked", "chunked", "whole")):
        dst = out / f"{mode}-{i}.jsonl"
        r = subprocess.run([sys.executable, "-c", CHILD, mode, str(src), str(dst), str(args.threads), str(args.chunk_docs)],
                           capture_output=True, text=True, check=False)
        if r.returncode != 0:
            sys.exit(r.stderr[-3000:])
        res = json.loads(r.stdout.strip().splitlines()[-1])
        results.append(res)
        print(json.dumps(res), flush=True)
    same = (out / "whole-0.jsonl").read_bytes() == (out / "chunked-1.jsonl").read_bytes()
    summary = {"documents": n, "bytes": src.stat().st_size, "chunk_docs": args.chunk_docs, "threads": args.threads,
               "identical_outputs": same, "runs": results}
    (out / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}))


if __name__ == "__main__":
    main()
