"""Dataclass configs: the single source of truth, with strict overrides.

Every config in ssltk is a (nested) dataclass. YAML files and command-line
arguments only *override* fields; an unknown key is an error that lists the
valid ones.

    >>> from ssltk.models.config import Wav2Vec2Config
    >>> cfg = apply_overrides(Wav2Vec2Config(), ["context.squeeze=2", "context.dim=384"])
    >>> cfg.context.squeeze
    2
"""
from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Iterable, TypeVar

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A config key or value that cannot be applied; the message names the fix."""


class UnknownKeyError(ConfigError):
    """A key that the config has no field for."""


def to_dict(cfg: Any) -> dict:
    """Nested dataclass -> plain dict of builtins (tuples become lists)."""
    out = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v):
            v = to_dict(v)
        elif isinstance(v, tuple):
            v = list(v)
        out[f.name] = v
    return out


def from_dict(cls: type[T], data: dict, where: str = "") -> T:
    """Build `cls` from a (possibly partial) dict; unknown keys raise ConfigError."""
    return merge(cls(), data, where)


def merge(cfg: T, data: dict, where: str = "") -> T:
    """Return a copy of `cfg` with the keys of `data` (nested dicts) replaced."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(type(cfg))
    names = {f.name for f in dataclasses.fields(cfg)}
    changes = {}
    for key, value in data.items():
        path = f"{where}.{key}" if where else key
        if key not in names:
            raise UnknownKeyError(
                f"unknown config key '{path}'; valid keys here: {', '.join(sorted(names))}"
            )
        current = getattr(cfg, key)
        if dataclasses.is_dataclass(current):
            changes[key] = merge(current, value, path)
        elif isinstance(current, dict) and isinstance(value, dict):  # a mapping field: nested keys merge
            changes[key] = deep_merge(current, value)
        else:
            changes[key] = _coerce(value, hints[key], path)
    try:
        return dataclasses.replace(cfg, **changes)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{where or 'config'}: {e}") from None


def deep_merge(base: dict, update: dict) -> dict:
    """A copy of `base` with `update`'s keys replaced, nested mappings merged key by key.

    >>> deep_merge({"a": {"x": 1, "y": 2}}, {"a": {"y": 3}})
    {'a': {'x': 1, 'y': 3}}
    """
    out = dict(base)
    for k, v in update.items():
        out[k] = deep_merge(out[k], v) if isinstance(out.get(k), dict) and isinstance(v, dict) else v
    return out


def apply_overrides(cfg: T, overrides: Iterable[str]) -> T:
    """Apply `key.sub=value` strings (values parsed as YAML scalars/lists), all at once: checks that
    tie two fields together see both (a later override of the same key wins)."""
    nested: dict = {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override '{item}' is not of the form key.sub=value")
        key, raw = item.split("=", 1)
        value = yaml.safe_load(raw) if raw != "" else ""
        one: dict = {}
        node = one
        parts = key.strip().split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
        nested = deep_merge(nested, one)
    return merge(cfg, nested)


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{where}: malformed YAML ({problem}); fix the syntax there (keys are `key: value`, "
                          "nested keys indented under their section)") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping of config keys")
    return data


def field_paths(cfg: Any, prefix: str = "") -> list[str]:
    """All dotted keys of a config, e.g. ['context.dim', 'context.layers', ...]."""
    out = []
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        p = f"{prefix}{f.name}"
        out.extend(field_paths(v, p + ".") if dataclasses.is_dataclass(v) else [p])
    return out


def _coerce(value: Any, hint: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, path)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"{path}: bad value {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{path}: {value!r} is not one of {', '.join(map(repr, args))}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            value = [value] if not isinstance(value, str) else [v for v in value.split(",") if v]
        inner = args[0] if args else Any
        return tuple(_coerce(v, inner, path) for v in value)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ConfigError(f"{path}: expected true/false, got {value!r}")
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise ConfigError(f"{path}: expected an integer, got {value!r}")
        return int(value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConfigError(f"{path}: expected a number, got {value!r}")
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"{path}: expected a number, got {value!r}") from None
    if hint is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(f"{path}: expected a string, got {value!r}")
        return str(value)
    return value
