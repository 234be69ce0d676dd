"""Reading DI-engine-style config files: a Python module defining ``main_config`` and ``create_config``."""

from __future__ import annotations

import runpy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ding_lite.errors import ConfigError


def read_config(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the config file and return its ``(main_config, create_config)`` as plain nested dicts.

    ``create_config`` may be absent when ``main_config`` names the types itself (``env.type``,
    ``policy.type``); it is then returned empty.
    """
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"config file '{file}' does not exist; pass the path of a .py config with -c")
    try:
        namespace = runpy.run_path(str(file), run_name="__ding_lite_config__")
    except SyntaxError as err:
        raise ConfigError(f"config file '{file}' has a syntax error at line {err.lineno}: {err.msg}") from None
    except Exception as err:  # the file is user code: report what it raised, not a traceback into ding_lite
        raise ConfigError(f"config file '{file}' raised {type(err).__name__} when run: {err}") from None
    main = namespace.get("main_config")
    if not isinstance(main, Mapping):
        raise ConfigError(f"config file '{file}' defines no 'main_config' dict; define main_config = dict(...)")
    create = namespace.get("create_config", {})
    if not isinstance(create, Mapping):
        raise ConfigError(f"config file '{file}' defines 'create_config' but it is not a dict")
    return to_plain(main), to_plain(create)


def to_plain(tree: Mapping[str, Any]) -> dict[str, Any]:
    """Deep copy a (possibly EasyDict) tree into plain dicts and lists."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            out[key] = to_plain(value)
        elif isinstance(value, (list, tuple)):
            out[key] = [to_plain(v) if isinstance(v, Mapping) else v for v in value]
        else:
            out[key] = value
    return out


def format_python(value: Any, indent: int = 0) -> str:
    """Python source for a tree of dicts, lists and scalars that evaluates back to an equal tree."""
    pad = "    " * (indent + 1)
    if isinstance(value, Mapping):
        if not value:
            return "dict()"
        if all(isinstance(k, str) and k.isidentifier() for k in value):
            items = [f"{pad}{k}={format_python(v, indent + 1)}," for k, v in value.items()]
            return "dict(\n" + "\n".join(items) + "\n" + "    " * indent + ")"
        pairs = [f"{pad}{k!r}: {format_python(v, indent + 1)}," for k, v in value.items()]
        return "{\n" + "\n".join(pairs) + "\n" + "    " * indent + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_python(v, indent) for v in value) + "]"
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return f"float('{value}')"
    return repr(value)
