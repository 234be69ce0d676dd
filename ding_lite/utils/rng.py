"""Seeding, capturing and restoring every global random generator ding_lite draws from.

Generators owned by components (the policy's and the replay buffer's NumPy generators, each env's) are
saved by those components. The captured state is plain data and tensors, loadable with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture_global_rng() -> dict[str, Any]:
    """Python's, NumPy's legacy global and torch's CPU generator states."""
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    version, internal, gauss = random.getstate()
    return {
        # 625 ints as one tensor: pickling them one by one makes every checkpoint save slower
        "python": {"version": version, "internal": torch.tensor(internal, dtype=torch.int64), "gauss": gauss},
        "numpy": {
            "name": name,
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
    }


def restore_global_rng(state: Mapping[str, Any]) -> None:
    saved_py = state["python"]
    random.setstate((saved_py["version"], tuple(int(v) for v in saved_py["internal"].tolist()), saved_py["gauss"]))
    saved = state["numpy"]
    keys = saved["keys"].numpy().astype(np.uint32)
    np.random.set_state((saved["name"], keys, saved["pos"], saved["has_gauss"], saved["cached_gaussian"]))
    torch.set_rng_state(state["torch"])


def generator_state(rng: np.random.Generator) -> dict[str, Any]:
    return dict(rng.bit_generator.state)


def set_generator_state(rng: np.random.Generator, state: Mapping[str, Any]) -> None:
    rng.bit_generator.state = dict(state)
