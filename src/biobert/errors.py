"""Typed errors with stable codes (in the spirit of spaCy's ``Errors.E###``).

Codes:
    E1xx  offsets and core types
    E2xx  input files (malformed data); always name the file, the line and what was expected
    E3xx  models and encoders (loading, label maps)
    E4xx  configuration and command-line usage (E42x: file formats)
    E5xx  training and evaluation
    E6xx  HTTP service
    E7xx  batch jobs (tagging files: resuming a stopped run)
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "BiobertError",
    "OffsetError",
    "DataFormatError",
    "ModelLoadError",
    "ConfigError",
    "TrainingError",
    "InputNotFoundError",
]


class BiobertError(Exception):
    """Base class of every error raised on purpose by biobert."""


class OffsetError(BiobertError, ValueError):
    """A character range does not fit the text it claims to index."""


class DataFormatError(BiobertError, ValueError):
    """Malformed input data.

    Args:
        code: error code, e.g. ``"E201"``.
        path: the file (or ``"<string>"`` for in-memory input).
        line: 1-based line number, or ``None`` when the error is not tied to a line.
        expected: what the reader expected to find.
        found: what it found instead (shortened).
    """

    def __init__(self, code: str, path: str | Path, line: int | None, expected: str, found: str | None = None):
        self.code = code
        self.path = str(path)
        self.line = line
        self.expected = expected
        self.found = found
        where = f"{self.path}:{line}" if line is not None else self.path
        msg = f"{code} {where}: expected {expected}"
        if found is not None:
            shown = found if len(found) <= 120 else found[:117] + "..."
            msg += f", found {shown!r}"
        super().__init__(msg)


class ModelLoadError(BiobertError, OSError):
    """A model or encoder could not be located or is incomplete."""


class ConfigError(BiobertError, ValueError):
    """Invalid configuration or command-line option."""


class TrainingError(BiobertError, RuntimeError):
    """Training or evaluation could not proceed (e.g. empty data, no labels)."""


class InputNotFoundError(BiobertError, FileNotFoundError):
    """An input file does not exist (or is a directory where a file was expected). A ``FileNotFoundError`` too, so
    code that catches that keeps working."""
