"""Reaching the Hugging Face hub from a machine that may be offline.

``huggingface_hub`` retries every file request five times with back-off when the
hub cannot be reached (about 25 s per file), so loading a hub id offline used to
take a minute before it failed. One quick probe per process decides instead:
when the hub is not reachable, every hub call is made cache-only
(``local_files_only=True``), which answers at once from the local cache, or
fails at once with our E301 and its offline hint.
"""

from __future__ import annotations

import logging
import os
import socket
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["hub_reachable", "hub_kwargs", "no_local_dir_note"]

log = logging.getLogger(__name__)

_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


@lru_cache(maxsize=1)
def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the hub endpoint (``HF_ENDPOINT``, default huggingface.co) opens within ``timeout``.

    ``HF_HUB_OFFLINE=1`` answers no without probing. Behind a proxy the answer is yes without probing: only the
    proxy can reach the hub, so a direct connection would fail on a machine that is in fact online.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    if any(os.environ.get(v) for v in _PROXY_VARS):
        return True
    from huggingface_hub import constants

    url = urlsplit(constants.ENDPOINT)
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except OSError as exc:
        log.info("the hub (%s) is not reachable (%s); hub ids load from the local cache only", host, exc)
        return False


def hub_kwargs(ref: str | os.PathLike[str]) -> dict[str, Any]:
    """Extra keyword arguments for a ``from_pretrained`` / ``hf_hub_download`` call on ``ref``.

    ``{}`` for a local directory or when the hub is reachable; ``{"local_files_only": True}`` otherwise.
    """
    if Path(ref).is_dir() or hub_reachable():
        return {}
    return {"local_files_only": True}


def no_local_dir_note(ref: str | os.PathLike[str]) -> str:
    """What a hub-loading error adds for a ``ref`` that is no local path either: ``runs/t1`` has the shape of a hub
    id (``org/name``), so a mistyped or missing local directory used to read as a network failure only."""
    if Path(ref).exists():
        return ""
    return f" There is no local directory {str(ref)!r} either (relative to {os.getcwd()})."
