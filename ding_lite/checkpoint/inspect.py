"""Human-readable and JSON summaries of checkpoint files (``ding ckpt inspect`` / ``ding ckpt verify``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch

from ding_lite.checkpoint.io import EXTRAS, LAST_ITER, LAST_STEP, has_checksum, parse_checkpoint
from ding_lite.checkpoint.store import checkpoint_problem
from ding_lite.errors import CheckpointError


def _tensors(tree: Any, prefix: str = "") -> Iterator[tuple[str, torch.Tensor]]:
    if isinstance(tree, torch.Tensor):
        yield prefix, tree
    elif isinstance(tree, Mapping):
        for key, value in tree.items():
            yield from _tensors(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(tree, (list, tuple)):
        for i, value in enumerate(tree):
            yield from _tensors(value, f"{prefix}.{i}")


def summarize(path: Path) -> dict[str, Any]:
    """What is inside a checkpoint, and whether it verifies (raises CheckpointError if it cannot be read)."""
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint '{path}' does not exist")
    problem = checkpoint_problem(path)
    data = path.read_bytes()
    if problem is not None and "checksum" not in problem:
        raise CheckpointError(f"checkpoint '{path}' cannot be inspected: {problem}")
    state = parse_checkpoint(data, path)
    extras = state.get(EXTRAS, {})
    tensors = [
        {
            "name": name,
            "shape": list(t.shape),
            "dtype": str(t.dtype).replace("torch.", ""),
            "bytes": t.numel() * t.element_size(),
        }
        for key in state
        if key != EXTRAS
        for name, t in _tensors(state[key], key)
    ]
    collector = extras.get("collector") or {}
    buffer = extras.get("buffer") or {}
    return {
        "path": str(path),
        "verifies": problem is None,
        "problem": problem,
        "has_checksum": has_checksum(data),
        "format_version": extras.get("format_version"),
        "writer": "ding_lite" if extras else "DI-engine (no ding_lite extras)",
        "policy_type": extras.get("policy_type"),
        "train_iter": state.get(LAST_ITER),
        "env_step": state.get(LAST_STEP),
        "episode_count": collector.get("episode_count"),
        "replay_buffer_size": buffer.get("size"),
        "keys": [k for k in state if k != EXTRAS],
        "extras": sorted(k for k in extras if k not in ("format_version", "policy_type")),
        "file_bytes": len(data),
        "tensor_bytes": sum(t["bytes"] for t in tensors),
        "tensors": tensors,
    }


def format_summary(info: Mapping[str, Any]) -> str:
    lines = [
        f"{info['path']}",
        f"  verifies: {'yes' if info['verifies'] else 'NO (' + str(info['problem']) + ')'}"
        f"{'' if info['has_checksum'] else ' (no checksum: written by DI-engine or an older tool)'}",
        f"  written by: {info['writer']}, format version {info['format_version']}",
        f"  policy: {info['policy_type']}  train_iter: {info['train_iter']}  env_step: {info['env_step']}"
        f"  episodes: {info['episode_count']}  replay buffer: {info['replay_buffer_size']}",
        f"  keys: {', '.join(info['keys'])}",
        f"  ding_lite extras: {', '.join(info['extras']) or '-'}",
        f"  size: {info['file_bytes'] / 1e6:.2f} MB on disk, {info['tensor_bytes'] / 1e6:.2f} MB of tensors",
        "  tensors:",
    ]
    width = max((len(t["name"]) for t in info["tensors"]), default=10)
    for t in info["tensors"]:
        lines.append(f"    {t['name']:<{width}}  {t['dtype']:<8} {tuple(t['shape'])}")
    return "\n".join(lines)


def verify_directory(directory: Path) -> list[tuple[Path, str | None]]:
    """``(file, problem or None)`` for every checkpoint in ``directory`` (or its ``ckpt/`` subfolder)."""
    ckpt_dir = directory / "ckpt" if (directory / "ckpt").is_dir() else directory
    if not ckpt_dir.is_dir():
        raise FileNotFoundError(f"directory '{directory}' does not exist")
    files = sorted(ckpt_dir.glob("*.pth.tar")) + sorted(ckpt_dir.glob("*.tmp-*"))
    results: list[tuple[Path, str | None]] = []
    for path in files:
        if ".tmp-" in path.name:
            results.append((path, "an unfinished temporary file (a write was interrupted); safe to delete"))
        else:
            results.append((path, checkpoint_problem(path)))
    return results
