"""Run reports: what a run used and produced, as JSON next to its outputs.

A report records library versions, the biobert git commit (and whether the
checkout had uncommitted changes) when the package runs from a git checkout,
what the encoder was (the SHA-256 of a local directory's weights, the hub
revision of a hub id), the hashes and sizes of every input file, the full
settings, seeds, counts of every change made to the data (windows, dropped
overlapping spans, unknown characters mapped to ``[UNK]``...) and the metrics,
so that a number in a table can be traced to exactly one run.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["file_sha256", "cpu_model", "environment", "git_state", "code_version", "encoder_identity", "write_report"]


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


def git_state(path: str | Path) -> dict[str, Any]:
    """``{"commit", "dirty"}`` of the git checkout that tracks file ``path``: the ``HEAD`` commit, and whether tracked
    files differ from it (untracked files are not counted). Both ``None`` when ``path`` is not a tracked file of a
    checkout (an installed wheel, a tree without ``.git``), when git is missing or fails: never an error, since a
    report is written after hours of training."""
    f = Path(path)
    # no index refresh (git status would otherwise write .git/index, racing a git command the user runs)
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(f.parent), *args], capture_output=True, text=True, check=True,
                              timeout=10, env=env).stdout

    try:
        # tracked here, not merely inside some repository (a virtualenv under a checkout holds untracked copies)
        git("ls-files", "--error-unmatch", "--", f.name)
        commit = git("rev-parse", "HEAD").strip()
        dirty = bool(git("status", "--porcelain", "--untracked-files=no").strip())
    except (OSError, subprocess.SubprocessError, ValueError):
        return {"commit": None, "dirty": None}
    return {"commit": commit or None, "dirty": dirty if commit else None}


@functools.lru_cache(maxsize=1)
def code_version() -> dict[str, Any]:
    """:func:`git_state` of the running biobert package (asked of git once per process)."""
    import biobert

    return git_state(biobert.__file__)


#: weight files whose bytes identify an encoder directory (sharded checkpoints: every shard)
_WEIGHT_FILES = re.compile(r"^(model|pytorch_model)(-\d+-of-\d+)?\.(safetensors|bin)$")
#: (resolved path, size, mtime) -> SHA-256: a file's hash is computed once per process, not once per fold or seed
_HASHED: dict[tuple[str, int, int], str] = {}


def _cached_sha256(f: Path) -> str:
    st = f.stat()
    key = (str(f.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASHED:
        _HASHED[key] = file_sha256(f)
    return _HASHED[key]


def _hub_revision(repo_id: str) -> str | None:
    """The commit of ``repo_id`` that the local Hugging Face cache resolves to, without any network access."""
    try:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # an old or broken huggingface_hub: the identity is unknown, not an error
        return None
    if isinstance(hit, str) and Path(hit).parent.parent.name == "snapshots":  # <cache>/snapshots/<commit>/config.json
        return Path(hit).parent.name
    return None


def encoder_identity(encoder: str | os.PathLike[str] | None) -> dict[str, Any] | None:
    """What an encoder setting named: ``{"name", "path", "weights_sha256", "vocab_sha256", "hub_revision"}``.

    A local directory (a named encoder such as ``minilm`` resolves to one) gets the SHA-256 of each weight file
    (``model.safetensors``, ``pytorch_model.bin`` and their shards), computed once per process, and of its
    vocabulary (``vocab.txt``, else ``tokenizer.json``: :func:`biobert.pretrain.vocab.vocab_sha256`); a hub id gets the
    commit its local Hugging Face cache holds (``None`` when it is not cached). Never raises: what cannot be
    found is ``None``. ``None`` for no encoder.
    """
    if encoder is None or str(encoder) == "":
        return None
    name = str(encoder)
    out: dict[str, Any] = {"name": name, "path": None, "weights_sha256": None, "vocab_sha256": None, "hub_revision": None}
    try:
        from biobert.encoders import resolve_encoder

        ref = resolve_encoder(name)
    except Exception:  # a path that no longer exists, a named encoder whose package is gone: recorded as unknown
        return out
    try:
        p = Path(ref)
        if p.is_dir():
            out["path"] = str(p.resolve())
            files = sorted(q for q in p.iterdir() if q.is_file() and _WEIGHT_FILES.match(q.name))
            out["weights_sha256"] = {q.name: _cached_sha256(q) for q in files} or None
            from biobert.pretrain.vocab import vocab_sha256

            out["vocab_sha256"] = vocab_sha256(p)
        else:
            out["hub_revision"] = _hub_revision(ref)
    except OSError:
        pass
    return out


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


def write_report(path: str | Path, report: dict[str, Any], encoder: str | os.PathLike[str] | None = None) -> None:
    """Write ``report`` (plus environment, the biobert git commit, the encoder's identity and a timestamp) as
    indented JSON (in a data-parallel run, process 0 writes and the others do nothing).

    Args:
        encoder: the encoder the run started from (:func:`encoder_identity`); default: ``report["config"]["encoder"]``.
    """
    from biobert import distributed

    if not distributed.is_main():
        return
    if encoder is None and isinstance(report.get("config"), dict):
        encoder = report["config"].get("encoder")
    env = environment()
    env["biobert_git"] = code_version()
    full = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "environment": env,
            "encoder_identity": encoder_identity(encoder), **report}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(full, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
