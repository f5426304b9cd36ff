"""The ``biobert`` command line: argument parsing only, then a call into the library.

Command modules register themselves on the Typer apps defined in
:mod:`biobert.cli.app`; importing them here wires up the tree.
"""

from __future__ import annotations

import importlib

from biobert.cli.app import app

# each module adds its commands to `app` (or to the `finetune` / `evaluate` groups) on import
_COMMAND_MODULES = ["biobert.cli.ner", "biobert.cli.pretrain", "biobert.cli.re_qa", "biobert.cli.serve", "biobert.cli.embed", "biobert.cli.convert",
                    "biobert.cli.reproduce"]
for _name in _COMMAND_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # a module not written yet must not break the others
        if exc.name != _name:
            raise


def main() -> None:
    """Console-script entry point."""
    import os

    # weight-loading progress bars clutter stdout/stderr of a command-line tool; warnings stay on
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover
        pass
    import sys

    sys.argv[1:] = spelled_as_registered(sys.argv[1:])
    app()


def spelled_as_registered(args: list[str]) -> list[str]:
    """``convert tf-checkpoint PREFIX ...`` (how the checkpoint converter is often asked for) as ``convert-tf``.

    ``convert`` itself converts annotation formats and takes two paths, so without this ``tf-checkpoint``
    would be read as an input file and the converter's options refused.
    """
    if args[:2] == ["convert", "tf-checkpoint"]:
        return ["convert-tf", *args[2:]]
    return list(args)


__all__ = ["app", "main"]
