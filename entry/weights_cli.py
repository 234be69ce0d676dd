"""``ding export`` (checkpoint -> ``pretrained_model/``) and ``ding ckpt adapt`` (fit weights to a new config)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ding_lite.checkpoint import io as ckpt_io
from ding_lite.checkpoint.partial import partial_load
from ding_lite.checkpoint.pretrained import read_weights
from ding_lite.config import compile_config
from ding_lite.config.loader import read_config
from ding_lite.errors import ConfigError
from ding_lite.policy import POLICY_REGISTRY, Policy


def policy_from_config(config: str | Path, seed: int = 0) -> Policy:
    """The policy a config builds, its fresh weights drawn from ``seed`` (so adapting is reproducible)."""
    import torch

    torch.manual_seed(seed)
    main, create = read_config(config)
    cfg = compile_config((main, create), 0, source=f"'{config}'", save_cfg=False)
    return POLICY_REGISTRY.get(str(cfg.policy.type))(cfg.policy)


def export_checkpoint(ckpt: str | Path, out: str | Path, config: str | Path | None = None) -> Path:
    """Write ``<out>/pretrained_model/`` from a checkpoint; DI-engine checkpoints need ``config``."""
    state = ckpt_io.load_checkpoint(ckpt)
    extras = state.get(ckpt_io.EXTRAS, {})
    if config is not None:
        policy = policy_from_config(config)
    elif "config" in extras:
        from easydict import EasyDict

        policy_cfg = EasyDict(extras["config"]["policy"])
        policy = POLICY_REGISTRY.get(str(policy_cfg.type))(policy_cfg)
    else:
        raise ConfigError(f"'{ckpt}' carries no config (a DI-engine checkpoint?): pass the config with -c")
    partial_load(policy.model, state["model"], source=str(ckpt), strict=True)
    if "value_norm" in extras:
        policy.load_normalization_state({"value_norm": extras["value_norm"]})
    return policy.save_pretrained(out)


def adapt_checkpoint(
    src: str | Path,
    config: str | Path,
    out: str | Path,
    *,
    exclude: Sequence[str] = (),
    include: Sequence[str] = (),
    rename_map: dict[str, str] | None = None,
    grow: bool = False,
) -> dict[str, Any]:
    """Keep what fits of ``src`` in the model ``config`` builds, write it as a ding_lite checkpoint at ``out``
    (usable as ``pretrained_path``); returns the load report."""
    policy = policy_from_config(config)
    weights, _ = read_weights(src)
    report = partial_load(
        policy.model,
        weights,
        source=str(src),
        strict=False,
        exclude=exclude,
        include=include,
        rename_map=rename_map,
        grow=grow,
    )
    policy.sync_targets()
    learn_state = policy.learn_mode.state_dict()
    state = {key: value for key, value in learn_state.items() if key in ("model", "target_model")}
    state[ckpt_io.LAST_ITER] = 0
    state[ckpt_io.LAST_STEP] = 0
    state[ckpt_io.EXTRAS] = {
        "format_version": ckpt_io.FORMAT_VERSION,
        "policy_type": str(policy.cfg["type"]),
        "adapted_from": str(src),
        "load_report": asdict(report),
    }
    ckpt_io.save_checkpoint(state, out)
    print(report.table())
    print(f"wrote {out}")
    return asdict(report)


def parse_renames(pairs: Sequence[str]) -> dict[str, str]:
    renames = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old:
            raise ConfigError(f"--rename takes OLD=NEW (key prefixes), got '{pair}'")
        renames[old] = new
    return renames


def run_export(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="ding export", description="export a checkpoint as pretrained_model/")
    parser.add_argument("ckpt", help="a ding_lite or DI-engine .pth.tar checkpoint")
    parser.add_argument("--out", required=True, help="output directory (pretrained_model/ is created inside)")
    parser.add_argument("-c", "--config", default=None, help="config file (needed for DI-engine checkpoints)")
    args = parser.parse_args(argv)
    path = export_checkpoint(args.ckpt, args.out, args.config)
    print(f"exported {args.ckpt} to {path}")
    return 0


def add_adapt_parser(sub: Any) -> None:
    adapt = sub.add_parser("adapt", help="keep what fits of a checkpoint in the model of another config")
    adapt.add_argument("src", help="a .pth.tar checkpoint or a pretrained_model/ folder")
    adapt.add_argument("--config", "-c", required=True, help="the config whose model the weights go into")
    adapt.add_argument("--out", required=True, help="the ding_lite checkpoint to write")
    adapt.add_argument("--exclude", nargs="*", default=[], help="model keys (globs or prefixes) to re-initialise")
    adapt.add_argument("--include", nargs="*", default=[], help="load only these model keys (globs or prefixes)")
    adapt.add_argument("--rename", nargs="*", default=[], help="OLD=NEW source key prefixes")
    adapt.add_argument(
        "--grow", action="store_true", help="keep old values in the leading slice of tensors that grew (7-D -> 8-D)"
    )
