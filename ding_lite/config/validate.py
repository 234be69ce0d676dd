"""Strict merge of a user's config tree into the defaults tree.

Every key a user writes must exist in the defaults (DI-engine silently accepts typos; ding_lite does not).
An unknown key raises :class:`ConfigError` naming the dotted key and the closest known key. Two kinds of
sections relax this:

- :class:`OpenSection`: any key is accepted (free-form ``ext_args``, for example);
- :class:`HookSection`: unknown keys are accepted only with a dict value (DI-engine's dict-form hooks,
  checked later by the hook builder); an unknown key with a plain value is a typo of a shorthand.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from typing import Any

from ding_lite.errors import ConfigError


class OpenSection(dict[str, Any]):
    """A defaults section that accepts keys it does not list."""


class HookSection(dict[str, Any]):
    """A defaults section whose unknown keys must hold dict-form hook definitions."""


def _dotted(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _all_paths(tree: Mapping[str, Any], path: str = "") -> Iterator[str]:
    for key, value in tree.items():
        full = _dotted(path, str(key))
        yield full
        if isinstance(value, Mapping):
            yield from _all_paths(value, full)


def _suggest(key: str, path: str, section: Mapping[str, Any], root: Mapping[str, Any]) -> str:
    """The closest known key: a sibling with a similar name, else the same name elsewhere in the tree."""
    siblings = [str(k) for k in section]
    every = list(_all_paths(root))
    same_name = [p for p in every if p.rsplit(".", 1)[-1] == key]
    if same_name:
        return f"; '{key}' belongs under '{same_name[0].rsplit('.', 1)[0]}' (full key '{same_name[0]}')"
    close = difflib.get_close_matches(key, siblings, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{_dotted(path, close[0])}'?"
    leaves = {p.rsplit(".", 1)[-1]: p for p in every}
    close = difflib.get_close_matches(key, list(leaves), n=1, cutoff=0.75)
    if close:
        return f"; did you mean '{leaves[close[0]]}'?"
    if siblings:
        return f"; known keys here: {', '.join(sorted(siblings))}"
    return ""


def merge_strict(
    defaults: Mapping[str, Any],
    user: Mapping[str, Any],
    *,
    source: str = "the config",
    _path: str = "",
    _root: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a new tree: ``defaults`` overridden by ``user``; unknown user keys raise ConfigError.

    Sections are merged recursively when both sides are mappings; any other user value replaces the
    default (so ``lr_scheduler=None`` may replace a dict default and a dict may replace ``None``).
    """
    root = defaults if _root is None else _root
    merged: dict[str, Any] = {key: _plain_copy(value) for key, value in defaults.items()}
    for key, value in user.items():
        full = _dotted(_path, str(key))
        if key in defaults:
            default = defaults[key]
            if isinstance(default, Mapping) and isinstance(value, Mapping):
                merged[key] = merge_strict(default, value, source=source, _path=full, _root=root)
            else:
                merged[key] = _plain_copy(value)
        elif isinstance(defaults, OpenSection) or (isinstance(defaults, HookSection) and isinstance(value, Mapping)):
            merged[key] = _plain_copy(value)
        else:
            hint = _suggest(str(key), _path, defaults, root)
            raise ConfigError(f"unknown config key '{full}' in {source}{hint}")
    return merged


def _plain_copy(value: Any) -> Any:
    """Deep copy into plain dicts and lists (drops EasyDict and section marker types)."""
    if isinstance(value, Mapping):
        return {k: _plain_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_copy(v) for v in value]
    return value
