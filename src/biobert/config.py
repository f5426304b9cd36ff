"""Typed run configurations: dataclasses filled from YAML plus dotted overrides.

    cfg = load_config(NERConfig, "configs/ner/ncbi_disease.yaml", ["train.lr=3e-5", "train.seed=2"])

Unknown keys are errors (E401) so that a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from biobert.errors import ConfigError

__all__ = ["from_dict", "load_config", "apply_overrides", "to_dict"]

T = TypeVar("T")


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if value is None:
        return None
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        last: Exception | None = None
        for a in non_none:
            try:
                return _convert(a, value, where)
            except (ConfigError, TypeError, ValueError) as exc:
                last = exc
        raise ConfigError(f"E402 {where}: cannot read {value!r} as {tp}") from last
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"E402 {where}: expected a mapping for {tp.__name__}, got {value!r}")
        return from_dict(tp, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"E402 {where}: expected a list, got {value!r}")
        return [_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        return dict(value)
    if tp is bool:
        if isinstance(value, str):
            if value.lower() in ("true", "1", "yes"):
                return True
            if value.lower() in ("false", "0", "no"):
                return False
            raise ConfigError(f"E402 {where}: expected true/false, got {value!r}")
        return bool(value)
    if tp in (int, float, str):
        try:
            return tp(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"E402 {where}: expected {tp.__name__}, got {value!r}") from exc
    return value


def from_dict(cls: type[T], data: dict[str, Any], where: str = "config") -> T:
    """Build dataclass ``cls`` from a nested dict, checking keys and types."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"E401 {where}: unknown key(s) {sorted(unknown)}; expected some of {sorted(names)}")
    kwargs = {k: _convert(hints[k], v, f"{where}.{k}") for k, v in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"E403 {where}: {exc}") from exc


def to_dict(obj: Any) -> dict[str, Any]:
    """Dataclass -> plain dict (JSON/YAML-able)."""
    return dataclasses.asdict(obj)


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` overrides (values parsed as YAML scalars) to a nested dict."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"E404 override {item!r} must look like key.subkey=value")
        key, raw = item.split("=", 1)
        node = data
        parts = key.strip().split(".")
        for p in parts[:-1]:
            if isinstance(node, list):
                node = node[int(p)]
            else:
                node = node.setdefault(p, {})
        value = yaml.safe_load(raw)
        if isinstance(node, list):
            node[int(parts[-1])] = value
        else:
            node[parts[-1]] = value
    return data


def load_config(cls: type[T], path: str | Path | None = None, overrides: list[str] | None = None, base: dict[str, Any] | None = None) -> T:
    """Read YAML ``path`` (optional), merge over ``base``, apply overrides, build ``cls``."""
    data: dict[str, Any] = dict(base or {})
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise ConfigError(f"E405 config file {p} does not exist")
        loaded = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"E406 {p}: the top level of a config must be a mapping")
        data.update(loaded)
    data = apply_overrides(data, overrides or [])
    return from_dict(cls, data, str(path or "config"))
