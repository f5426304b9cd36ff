"""Time and memory of ``biobert convert-tf`` on a BERT-base-sized TensorFlow checkpoint.

    /tmp/tfvenv/bin/python tests/fixtures/tf_bert/make_checkpoint.py --base /tmp/bert-base-tf   # needs TensorFlow, once
    python benchmarks/tf_convert.py /tmp/bert-base-tf/model.ckpt-1000000 --out /tmp/bert-base-hf --threads 1

The checkpoint has BioBERT v1.1's shapes (12 layers, 768 hidden, 28,996 tokens) and both Adam slots (1.3 GB, like
the release). Prints one JSON object: the conversion report, wall seconds by phase, peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("prefix")
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from biobert.tfcheckpoint import convert_bert_checkpoint, read_tf_checkpoint

    t0 = time.perf_counter()
    stats: dict[str, int] = {}
    read_tf_checkpoint(args.prefix, stats=stats)  # every variable, optimizer slots included: the reader alone
    t1 = time.perf_counter()
    report = convert_bert_checkpoint(args.prefix, args.out)
    t2 = time.perf_counter()
    print(json.dumps({
        "read_all_seconds": round(t1 - t0, 2), "read_all_bytes": stats["bytes_read"], "read_all_crc_checked": stats["crc_checked"],
        "read_all_MB_per_second": round(stats["bytes_read"] / 1e6 / (t1 - t0), 1),
        "convert_seconds": round(t2 - t1, 2), "peak_rss_MB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "report": report,
    }, indent=1))


if __name__ == "__main__":
    main()
