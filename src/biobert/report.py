"""Run reports: what a run used and produced, as JSON next to its outputs.

A report records library versions, the hashes and sizes of every input file,
the full settings, seeds, counts of every change made to the data (windows,
dropped overlapping spans, unknown characters mapped to ``[UNK]``...) and the
metrics, so that a number in a table can be traced to exactly one run.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["file_sha256", "cpu_model", "environment", "write_report"]


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, where ``platform.processor()`` is often empty).

    Recorded because speed figures, and which fast kernels (AMX, AVX-512 bf16) exist, depend on it, and the
    machines a project runs on can change model from one session to the next.
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict[str, Any]:
    """Versions of Python and of the libraries that influence results."""
    import importlib.metadata as md

    versions = {}
    for pkg in ("biobert", "torch", "transformers", "tokenizers", "safetensors", "numpy", "accelerate", "onnxruntime",
                "bioc", "pysbd", "spacy", "fastapi"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    info: dict[str, Any] = {"python": sys.version.split()[0], "platform": platform.platform(), "cpu": cpu_model(),
                            "cpu_count": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
                            "packages": versions}
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.is_available()
        if info["cuda"]:
            info["cuda_devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        mps = getattr(torch.backends, "mps", None)
        info["mps"] = bool(mps is not None and mps.is_available())
    except ImportError:
        pass
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # a data-parallel run (torchrun): which process wrote this
        info["processes"] = int(os.environ["WORLD_SIZE"])
        info["rank"] = int(os.environ.get("RANK", "0"))
    return info


def tree_sha256(path: str | Path) -> tuple[str, int, int]:
    """``(SHA-256, bytes, files)`` of a directory's files (brat, DDI XML): every file's relative path and bytes,
    in sorted order, so renaming, adding or changing any file changes the hash."""
    root = Path(path)
    h, size, n = hashlib.sha256(), 0, 0
    for f in sorted(q for q in root.rglob("*") if q.is_file()):
        rel = f.relative_to(root).as_posix().encode("utf-8")
        h.update(len(rel).to_bytes(8, "little") + rel + bytes.fromhex(file_sha256(f)))
        size, n = size + f.stat().st_size, n + 1
    return h.hexdigest(), size, n


def data_record(paths: list[str | Path]) -> list[dict[str, Any]]:
    """Path, size and SHA-256 of each input file; a directory (brat, DDI XML) gets the hash of its files
    (:func:`tree_sha256`) and their number."""
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            digest, size, n = tree_sha256(p)
            out.append({"path": str(p), "bytes": size, "files": n, "sha256": digest})
        else:
            out.append({"path": str(p), "bytes": p.stat().st_size, "sha256": file_sha256(p)})
    return out


def write_report(path: str | Path, report: dict[str, Any]) -> None:
    """Write ``report`` (plus environment and timestamp) as indented JSON (in a data-parallel run, process 0
    writes and the others do nothing)."""
    from biobert import distributed

    if not distributed.is_main():
        return
    full = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "environment": environment(), **report}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(full, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
