"""Typed run configurations: dataclasses filled from YAML plus dotted overrides.

    cfg = load_config(NERConfig, "configs/ner/ncbi_disease.yaml", ["train.lr=3e-5", "train.seed=2"])

Unknown keys are errors (E401) so that a typo never silently falls back to a default. Values are
converted strictly (E402): an int field refuses ``2.7`` and ``true``, a bool field refuses ``2`` and
``"false"``, a str field refuses lists. A dataclass with a ``validate(where)`` method is checked as soon
as it is built (E415: out of range or not one of the allowed values), so a bad setting stops the run
before any data or model is loaded.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from biobert.errors import ConfigError

__all__ = ["from_dict", "load_config", "apply_overrides", "to_dict", "convert", "check_range", "check_choice"]

T = TypeVar("T")

_INT_STR = re.compile(r"[+-]?\d+")


def _key(where: str, key: str | int) -> str:
    """Dotted path of ``key`` under ``where`` (``""`` is the top level)."""
    return f"{where}.{key}" if where else str(key)


def _type_name(tp: Any) -> str:
    """Readable name of a type annotation for error messages."""
    return tp.__name__ if isinstance(tp, type) else str(tp).replace("typing.", "")


def _bad(where: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(f"E402 {where or 'config'}: expected {expected}, got {value!r}")


def _to_int(value: Any, where: str) -> int:
    # bool is a subclass of int: `patience: true` must not become 1
    if isinstance(value, bool):
        raise _bad(where, "an integer", value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)  # `epochs: 3.0` is exactly 3; only a fraction would be lost
    if isinstance(value, str) and _INT_STR.fullmatch(value.strip()):
        return int(value.strip())
    raise _bad(where, "an integer", value)


def _to_float(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise _bad(where, "a number", value)
    if isinstance(value, (int, float)):
        out = float(value)
    elif isinstance(value, str):
        # PyYAML (YAML 1.1) reads `lr: 2e-5` (no dot in the mantissa) as the string "2e-5"
        try:
            out = float(value.strip())
        except ValueError:
            raise _bad(where, "a number", value) from None
    else:
        raise _bad(where, "a number", value)
    if math.isnan(out):
        raise _bad(where, "a number", value)
    return out


def _to_bool(value: Any, where: str) -> bool:
    # only real booleans: YAML and --set already turn true/false/yes/no into them, so a string here was
    # quoted on purpose ('false'), and bool('false') is True
    if isinstance(value, bool):
        return value
    raise _bad(where, "true or false (unquoted)", value)


def _to_str(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    # YAML reads a name or fold like 2010 or 1 as an int; str() gives back exactly what was written
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    # floats (1.10 -> "1.1") and booleans (yes -> True) would not round-trip: ask for quotes instead
    hint = " (quote it in YAML)" if isinstance(value, (bool, float)) else ""
    raise _bad(where, f"a string{hint}", value)


def convert(tp: Any, value: Any, where: str) -> Any:
    """``value`` read as type annotation ``tp``, strictly, or E402 naming ``where``.

    Args:
        tp: the field's annotation: int, float, bool, str, list[X], dict[K, V], a dataclass, ``X | None``
            or a union of these (tried in order).
        value: the raw value from YAML, JSON or a ``--set`` override.
        where: the dotted key, e.g. ``"train.epochs"``, used in the message.

    Returns:
        The converted value. Only lossless conversions happen: an integral float or an integer string for
        int, an int or a numeric string for float (YAML 1.1 reads ``2e-5`` as a string), an int for str.

    Raises:
        ConfigError: E402 when the value does not have the expected type; E401/E403 from nested dataclasses.
    """
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if value is None:
            if len(non_none) < len(args):
                return None
            raise _bad(where, _type_name(tp), value)
        # a value that already has one of the types is kept as it is (no str -> int detour in `int | str`)
        for a in non_none:
            a_origin = typing.get_origin(a) or a
            if isinstance(a_origin, type) and isinstance(value, a_origin) and not (a_origin is int and isinstance(value, bool)):
                return convert(a, value, where)
        errors: list[ConfigError] = []
        for a in non_none:
            try:
                return convert(a, value, where)
            except ConfigError as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        raise _bad(where, " or ".join(_type_name(a) for a in non_none), value)
    if value is None:
        raise _bad(where, _type_name(tp), value)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise _bad(where, f"a mapping for {tp.__name__}", value)
        return from_dict(tp, dict(value), where)
    if origin is list or tp is list:
        if not isinstance(value, list):
            raise _bad(where, "a list", value)
        if not args:
            return list(value)
        return [convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise _bad(where, "a mapping", value)
        if not args:
            return dict(value)
        return {convert(args[0], k, f"{where} key {k!r}"): convert(args[1], v, _key(where, str(k))) for k, v in value.items()}
    if tp is bool:
        return _to_bool(value, where)
    if tp is int:
        return _to_int(value, where)
    if tp is float:
        return _to_float(value, where)
    if tp is str:
        return _to_str(value, where)
    return value


def check_range(value: float | int | None, where: str, *, ge: float | None = None, gt: float | None = None,
                lt: float | None = None, le: float | None = None, note: str = "") -> None:
    """E415 unless ``value`` lies in the given bounds (``None`` passes: optional settings stay unset).

    Args:
        value: the setting's value.
        where: its dotted key, e.g. ``"train.epochs"``.
        ge, gt, lt, le: the bounds (>=, >, <, <=).
        note: what the setting means, appended to the message.
    """
    if value is None:
        return
    ok = not (isinstance(value, float) and math.isnan(value))
    parts: list[str] = []
    for bound, op, test in ((ge, ">=", lambda b: value >= b), (gt, ">", lambda b: value > b),
                            (lt, "<", lambda b: value < b), (le, "<=", lambda b: value <= b)):
        if bound is not None:
            parts.append(f"{op} {bound}")
            ok = ok and bool(test(bound))
    if not ok:
        raise ConfigError(f"E415 {where}: expected a value {' and '.join(parts)}, got {value!r}{note and f' ({note})'}")


def check_choice(value: Any, where: str, choices: Iterable[Any]) -> None:
    """E415 unless ``value`` is one of ``choices``."""
    allowed = list(choices)
    if value not in allowed:
        raise ConfigError(f"E415 {where}: expected one of {', '.join(map(str, allowed))}; got {value!r}")


def from_dict(cls: type[T], data: dict[str, Any], where: str = "") -> T:
    """Build dataclass ``cls`` from a nested dict, checking keys, types and (via ``cls.validate``) values.

    Args:
        cls: the dataclass.
        data: its settings (unknown keys are an error).
        where: dotted key of ``data`` inside the whole config (``""`` at the top), used in messages.

    Raises:
        ConfigError: E401 unknown key, E402 wrong type, E403 missing required key, E415 value out of range.
    """
    if not isinstance(data, Mapping):
        raise _bad(where, f"a mapping for {cls.__name__}", data)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"E401 {where or 'config'}: unknown key(s) {sorted(map(str, unknown))}; expected some of {sorted(names)}")
    required = [f.name for f in dataclasses.fields(cls)  # type: ignore[arg-type]
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and f.name not in data]
    if required:
        raise ConfigError(f"E403 {where or 'config'}: missing required key(s) {', '.join(_key(where, k) for k in required)}")
    kwargs = {k: convert(hints[k], v, _key(where, k)) for k, v in data.items()}
    try:
        obj = cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"E403 {where or 'config'}: {exc}") from exc
    check = getattr(obj, "validate", None)
    if callable(check):
        check(where)
    return obj


def to_dict(obj: Any) -> dict[str, Any]:
    """Dataclass -> plain dict (JSON/YAML-able)."""
    return dataclasses.asdict(obj)


def _bad_path(item: str, key: str, why: str) -> ConfigError:
    return ConfigError(f"E416 override {item!r}: {key!r} {why}")


#: path placeholders (:func:`biobert.settings.expand_path`) that YAML would read as the start of a flow mapping
_PLACEHOLDERS = ("{data}",)


def _parse_value(item: str, raw: str) -> Any:
    """An override's value as a YAML scalar, list or mapping.

    ``{data}`` inside it is a path placeholder, not a YAML mapping: ``data.test={data}/qa/test.json`` and
    ``data.test=[{data}/a.json, {data}/b.json]`` are what a user copies from a config, and YAML alone
    fails on both.

    Raises:
        ConfigError: E404 a value that is not valid YAML (an unclosed list, ...).
    """
    masked = raw
    for i, ph in enumerate(_PLACEHOLDERS):
        masked = masked.replace(ph, f"\ue000{i}\ue001")

    def unmask(v: Any) -> Any:
        if isinstance(v, str):
            for i, ph in enumerate(_PLACEHOLDERS):
                v = v.replace(f"\ue000{i}\ue001", ph)
            return v
        if isinstance(v, list):
            return [unmask(x) for x in v]
        if isinstance(v, dict):
            return {unmask(k): unmask(x) for k, x in v.items()}
        return v

    try:
        return unmask(yaml.safe_load(masked))
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"E404 override {item!r}: the value is not valid YAML ({problem}); quote it, e.g. key='value'") from None


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` overrides (values parsed as YAML: scalars, ``[a, b]`` lists; ``{data}`` is kept as the
    path placeholder) to a nested dict.

    List items are addressed by index (``corpora.0.train=...``).

    Raises:
        ConfigError: E404 an override without ``=`` or with a value that is not valid YAML; E416 a path that does not lead to a setting (into a
            scalar, a list index that is not a number or is out of range).
    """
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"E404 override {item!r} must look like key.subkey=value")
        key, raw = item.split("=", 1)
        parts = key.strip().split(".")
        if any(not p for p in parts):
            raise _bad_path(item, key.strip(), "has an empty part")
        node: Any = data
        for depth, p in enumerate(parts):
            here = ".".join(parts[: depth + 1])
            last = depth == len(parts) - 1
            if isinstance(node, list):
                if not _INT_STR.fullmatch(p):
                    raise _bad_path(item, here, f"is not a list index (the list has {len(node)} item(s))")
                i = int(p)
                if not -len(node) <= i < len(node):
                    raise _bad_path(item, here, f"is out of range (the list has {len(node)} item(s))")
                if last:
                    node[i] = _parse_value(item, raw)
                else:
                    node = node[i]
            elif isinstance(node, dict):
                if last:
                    node[p] = _parse_value(item, raw)
                else:
                    child = node.setdefault(p, {})
                    if child is None:  # an optional section left empty (`pre_stage:`): fill it
                        child = node[p] = {}
                    node = child
            else:
                parent = ".".join(parts[:depth])
                raise _bad_path(item, parent, f"is a single value ({node!r}), so it has no {p!r} inside")
    return data


def load_config(cls: type[T], path: str | Path | None = None, overrides: list[str] | None = None, base: dict[str, Any] | None = None) -> T:
    """Read YAML ``path`` (optional), merge over ``base``, apply overrides, build and validate ``cls``.

    Raises:
        ConfigError: E405/E406 for the file, E404/E416 for overrides, E401-E403/E415 for the settings
            (with the file named).
    """
    data: dict[str, Any] = dict(base or {})
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise ConfigError(f"E405 config file {p} does not exist")
        if p.is_dir():
            raise ConfigError(f"E405 config file {p} is a directory; give a .yaml file")
        try:
            loaded = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except UnicodeDecodeError as exc:
            raise ConfigError(f"E406 {p}: not UTF-8 text (byte {exc.start}); save the config as UTF-8") from None
        except yaml.YAMLError as exc:
            # the parser's own position ("line 5, column 3"), with our file's name instead of "<unicode string>"
            mark = getattr(exc, "problem_mark", None)
            where = f"{p}:{mark.line + 1}" if mark is not None else str(p)
            what = " ".join(str(x) for x in (getattr(exc, "context", None), getattr(exc, "problem", None)) if x) or str(exc)
            raise ConfigError(f"E406 {where}: not valid YAML ({what})") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"E406 {p}: the top level of a config must be a mapping")
        data.update(loaded)
    data = apply_overrides(data, overrides or [])
    try:
        return from_dict(cls, data)
    except ConfigError as exc:
        if path is None:
            raise
        raise ConfigError(f"{exc} (in {path})") from exc
