"""``compile_config``: DI-engine-style configs in, one validated config tree out.

The compiled tree has DI-engine's layout (``exp_name``, ``seed``, ``env`` with ``env.manager``, and
``policy`` with ``model``, ``learn.learner``, ``collect.collector``, ``eval.evaluator`` and
``other.replay_buffer``). ``create_config`` sections are moved to those places, each component's
defaults are filled in, and every user key is checked against them.

On disk (when ``save_cfg``) inside the experiment directory ``./<exp_name>/``:

- ``total_config.py``: ``exp_config = {...}``, the whole compiled tree;
- ``formatted_total_config.py``: ``main_config`` and ``create_config`` that compile back to the same tree.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from easydict import EasyDict

from ding_lite.config.loader import format_python, to_plain
from ding_lite.config.validate import merge_strict
from ding_lite.config.values import check_values
from ding_lite.errors import ConfigError
from ding_lite.utils.registry import UnknownNameError

log = logging.getLogger("ding_lite")

# Where each create_config section lands in the compiled tree, and its type when none is given.
CREATE_SECTIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "env": (("env",), None),
    "env_manager": (("env", "manager"), "base"),
    "policy": (("policy",), None),
    "replay_buffer": (("policy", "other", "replay_buffer"), "naive"),
    "learner": (("policy", "learn", "learner"), "base"),
    "collector": (("policy", "collect", "collector"), "sample"),
    "evaluator": (("policy", "eval", "evaluator"), "interaction"),
}
DI_ENGINE_PREFIXES = ("dizoo.", "ding.")


def _get(tree: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = tree
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _section(tree: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node = tree
    for key in path:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"config key '{'.'.join(path)}' must be a dict, got {child!r}")
        node = child
    return node


def combine_main_and_create(main: Mapping[str, Any], create: Mapping[str, Any], source: str) -> dict[str, Any]:
    """One user tree: ``main_config`` with each ``create_config`` section moved to its compiled place."""
    tree = to_plain(main)
    for name, section in create.items():
        if name not in CREATE_SECTIONS:
            known = ", ".join(CREATE_SECTIONS)
            raise ConfigError(f"unknown create_config section '{name}' in {source}; known sections: {known}")
        if not isinstance(section, Mapping):
            raise ConfigError(f"create_config.{name} in {source} must be a dict with a 'type'")
        target = _section(tree, CREATE_SECTIONS[name][0])
        target.update(to_plain(section))
    return tree


def resolve_types(tree: dict[str, Any], source: str) -> dict[str, str]:
    """The component type of each section, filling in defaults; env and policy types are required."""
    types: dict[str, str] = {}
    for name, (path, default) in CREATE_SECTIONS.items():
        given = _get(tree, path + ("type",))
        if given is None:
            if default is None:
                raise ConfigError(f"{source} sets no {name} type; set create_config.{name}.type")
            given = default
            _section(tree, path)["type"] = default
        types[name] = str(given)
    return types


def handle_import_names(tree: dict[str, Any], types: Mapping[str, str]) -> None:
    """DI-engine module names are replaced by ding_lite's built-ins (one log line each); others are imported."""
    for name, (path, _) in CREATE_SECTIONS.items():
        for module in _get(tree, path + ("import_names",)) or []:
            if str(module).startswith(DI_ENGINE_PREFIXES):
                log.info("'%s' is DI-engine's module; using ding_lite's built-in %s '%s'", module, name, types[name])
                continue
            try:
                importlib.import_module(str(module))
            except ImportError as err:
                raise ConfigError(f"cannot import '{module}' listed in {'.'.join(path)}.import_names: {err}") from None


def prepare_exp_dir(exp_name: str, *, resume: bool, renew_dir: bool) -> str:
    """Create the experiment directory; an existing one gets a time suffix unless resuming (as DI-engine)."""
    if renew_dir and not resume and Path(exp_name).exists():
        exp_name = f"{exp_name}_{time.strftime('%y%m%d_%H%M%S')}"
    Path(exp_name).mkdir(parents=True, exist_ok=True)
    return exp_name


def split_main_and_create(cfg: Mapping[str, Any], types: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The inverse of :func:`combine_main_and_create`, used for ``formatted_total_config.py``."""
    main = to_plain(cfg)
    create = {name: {"type": types[name]} for name in ("env", "env_manager", "policy", "replay_buffer")}
    return main, create


def types_of(cfg: Mapping[str, Any]) -> dict[str, str]:
    """The component types of a compiled config (the create_config sections that carry a type)."""
    return {name: str(_get(cfg, path + ("type",))) for name, (path, _) in CREATE_SECTIONS.items()}


def save_config_files(cfg: Mapping[str, Any], exp_dir: Path) -> None:
    """``total_config.py`` and the reloadable ``formatted_total_config.py`` in ``exp_dir``."""
    tree = to_plain(cfg)
    types = types_of(tree)
    (exp_dir / "total_config.py").write_text("exp_config = " + format_python(tree) + "\n")
    main, create = split_main_and_create(tree, types)
    (exp_dir / "formatted_total_config.py").write_text(
        "from easydict import EasyDict\n\n"
        f"main_config = EasyDict({format_python(main)})\n\n"
        f"create_config = EasyDict({format_python(create)})\n"
    )


def compile_config(
    cfg: Mapping[str, Any] | tuple[Mapping[str, Any], Mapping[str, Any]],
    seed: int = 0,
    *,
    create_cfg: Mapping[str, Any] | None = None,
    save_cfg: bool = True,
    renew_dir: bool = True,
    source: str = "the config",
) -> EasyDict:
    """Merge defaults, validate every key, set ``seed``, and (with ``save_cfg``) prepare ``./<exp_name>/``.

    ``cfg`` is ``main_config`` (with ``create_cfg``) or the pair ``(main_config, create_config)``.
    ``renew_dir=False`` reuses an existing experiment directory (evaluation does).
    """
    from ding_lite.components import ENV_REGISTRY, default_tree
    from ding_lite.envs.pixels import render_problem

    if isinstance(cfg, tuple):
        main, create = cfg
    else:
        main, create = cfg, create_cfg or {}
    tree = combine_main_and_create(main, create, source)
    types = resolve_types(tree, source)
    handle_import_names(tree, types)
    try:
        defaults = default_tree(types)
    except UnknownNameError as err:
        raise ConfigError(f"{err} (in {source}, create_config)") from None
    compiled = merge_strict(defaults, tree, source=source)
    compiled["seed"] = int(seed)
    check_values(compiled, source)
    env_cls = ENV_REGISTRY.get(types["env"])
    env_problem = env_cls.config_problem(compiled["env"], source) or render_problem(env_cls, compiled["env"], source)
    if env_problem is not None:
        raise ConfigError(env_problem)
    if save_cfg:
        resume = bool(compiled["policy"]["learn"].get("resume_training", False))
        compiled["exp_name"] = prepare_exp_dir(str(compiled["exp_name"]), resume=resume, renew_dir=renew_dir)
        save_config_files(compiled, Path(compiled["exp_name"]))
    return EasyDict(compiled)
