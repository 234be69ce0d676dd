"""The policy contract: three modes (learn, collect, eval) over one model, and named state.

A policy is built from the compiled ``cfg.policy`` section. Each mode is a small view exposing the
methods a worker may call, as in DI-engine (``policy.learn_mode.forward(batch)``,
``policy.collect_mode.forward(obs)``, ``policy.eval_mode.forward(obs)``).

State: ``_state_dict_learn()`` returns DI-engine's checkpoint keys for the policy (``model``,
``target_model``, ``optimizer*``); ``_load_state_dict_learn()`` restores them strictly, failing with a
message that lists every mismatched tensor with both shapes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from easydict import EasyDict
from torch import nn

from ding_lite.checkpoint.model_io import load_model_state
from ding_lite.checkpoint.partial import LoadReport
from ding_lite.checkpoint.pretrained import feature_differences, read_weights, save_pretrained
from ding_lite.errors import CheckpointError, ConfigError
from ding_lite.policy import weights
from ding_lite.policy.train_cycle import TrainCycle
from ding_lite.utils.registry import Registry

POLICY_REGISTRY: Registry[type[Policy]] = Registry("policy")
register_policy = POLICY_REGISTRY.register


class PolicyMode:
    """The methods of one mode, bound to the policy (``forward``, ``state_dict``, ``load_state_dict``, ...)."""

    def __init__(self, **methods: Callable[..., Any]) -> None:
        self.__dict__.update(methods)

    def __getattr__(self, name: str) -> Any:  # only reached for missing names
        raise AttributeError(f"this policy mode has no method '{name}'")


class LearnLoss(NamedTuple):
    """The loss of one training batch, a mean over ``samples`` equally weighted samples (or proportional to
    them), and the values logged beside it, ``total_loss`` first, each a mean over the same samples."""

    loss: torch.Tensor
    info: dict[str, float]
    samples: int


LossForward = Callable[[Mapping[str, torch.Tensor]], LearnLoss]


class Policy:
    """Base class: subclasses set ``config``, build their model and implement the ``_forward_*`` methods."""

    config: ClassVar[dict[str, Any]] = {}
    on_policy: ClassVar[bool] = False
    # what the _forward_learn of a policy trained on a dataset computes its loss through: None for learn_loss
    # itself; under torchrun a DistributedDataParallel module calling it (ding_lite.ddp.loss), so that the
    # gradients of every process's share of the batch are averaged
    loss_forward: LossForward | None = None

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        cfg = copy.deepcopy(cls.config)
        cfg["model"] = cls.default_model_config()
        return cfg

    @classmethod
    def default_model_config(cls) -> dict[str, Any]:
        return {}

    def __init__(self, cfg: Mapping[str, Any], model: nn.Module | None = None) -> None:
        self._cfg = cfg
        self._model = model if model is not None else self._create_model(cfg["model"])
        self.rng = np.random.default_rng(0)
        self.frozen_parameters = weights.freeze(self._model, self.freeze_prefixes())
        self._init_learn()
        self._init_collect()
        self._init_eval()

    def freeze_prefixes(self) -> list[str]:
        """Module-name prefixes whose parameters are not trained: ``policy.freeze``."""
        return [str(p) for p in self._cfg.get("freeze") or []]

    # --- to be provided by subclasses -----------------------------------------------------------
    def _create_model(self, model_cfg: Mapping[str, Any]) -> nn.Module:
        raise NotImplementedError

    def _init_learn(self) -> None:
        raise NotImplementedError

    def _init_collect(self) -> None:
        pass

    def _init_eval(self) -> None:
        pass

    def _forward_learn(self, batch: Mapping[str, torch.Tensor]) -> dict[str, float]:
        raise NotImplementedError

    def learn_loss(self, batch: Mapping[str, torch.Tensor]) -> LearnLoss:
        """Policies trained on a dataset: the loss of a training batch, in train mode, not yet backpropagated."""
        raise NotImplementedError

    def _forward_collect(self, obs: np.ndarray, **kwargs: Any) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _forward_eval(self, obs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _monitor_vars_learn(self) -> list[str]:
        return ["cur_lr", "total_loss"]

    def _state_dict_learn(self) -> dict[str, Any]:
        raise NotImplementedError

    def _load_state_dict_learn(self, state: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def _new_train_cycle(self, data: Any) -> TrainCycle:
        """On-policy: the train iterations of one collected rollout."""
        raise NotImplementedError(f"{type(self).__name__} is off-policy: it trains on replay-buffer batches")

    def _restore_train_cycle(self, state: Mapping[str, Any]) -> TrainCycle:
        raise NotImplementedError(f"{type(self).__name__} is off-policy: it has no train cycle")

    def _train_batches(self, data: Any) -> Iterator[Mapping[str, torch.Tensor]]:
        """Every minibatch of the cycle built from ``data`` (each one train iteration)."""
        cycle = self._new_train_cycle(data)
        while (batch := cycle.next_batch()) is not None:
            yield batch

    # --- shared -----------------------------------------------------------------------------------
    @property
    def cfg(self) -> Mapping[str, Any]:
        return self._cfg

    def sync_targets(self) -> None:
        """Copy the online weights into any target network (after weights were loaded from outside)."""

    def compute_learn_loss(self, batch: Mapping[str, torch.Tensor]) -> LearnLoss:
        """:meth:`learn_loss`, through ``loss_forward`` when one is set."""
        return self.learn_loss(batch) if self.loss_forward is None else self.loss_forward(batch)

    def normalization_state(self) -> dict[str, Any]:
        """Statistics a deployed policy needs besides its weights (none by default)."""
        return {}

    def load_pretrained(self, path: str | Path, **options: Any) -> LoadReport:
        """Weights only from a checkpoint or ``pretrained_model/`` (see ``policy.weights.load_pretrained``)."""
        return weights.load_pretrained(self, {"path": str(path), **options}, None)

    def pretrained_feature_differences(self, saved_config: Mapping[str, Any]) -> list[str]:
        """One line per feature of a ``pretrained_model/`` folder's config.json that does not fit this policy."""
        return feature_differences(saved_config, self._cfg)

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write ``<directory>/pretrained_model/`` (safetensors weights + config.json)."""
        return save_pretrained(self._model, self._cfg, directory, self.normalization_state())

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> Policy:
        """A policy rebuilt from a ``pretrained_model/`` folder alone (no config file needed)."""
        _, meta = read_weights(directory)
        if meta is None:
            raise CheckpointError(f"'{directory}' is not a pretrained_model folder (no config.json)")
        policy_cfg = EasyDict(meta["policy"])
        policy = POLICY_REGISTRY.get(str(meta["policy_type"]))(policy_cfg)
        policy.load_pretrained(directory)
        policy.load_normalization_state(meta.get("normalization") or {})
        return policy

    def load_normalization_state(self, state: Mapping[str, Any]) -> None:
        pass

    def nstep_and_gamma(self) -> tuple[int, float]:
        """n-step length and discount used to build replay transitions (off-policy)."""
        return int(self._cfg.get("nstep", 1)), float(self._cfg.get("discount_factor", 0.99))

    def seed(self, seed: int) -> None:
        """Seeds ``rng``, the generator collect-mode sampling and exploration draw from."""
        self.rng = np.random.default_rng(seed)

    @property
    def model(self) -> nn.Module:
        return self._model

    def _state_dict_eval(self) -> dict[str, Any]:
        return {"model": self._model.state_dict()}

    def _load_state_dict_eval(self, state: Mapping[str, Any]) -> None:
        load_model_state(self._model, state["model"], what="model")

    _state_dict_collect = _state_dict_eval
    _load_state_dict_collect = _load_state_dict_eval

    @property
    def learn_mode(self) -> PolicyMode:
        return PolicyMode(
            forward=self._forward_learn,
            train_batches=self._train_batches,
            new_cycle=self._new_train_cycle,
            restore_cycle=self._restore_train_cycle,
            state_dict=self._state_dict_learn,
            load_state_dict=self._load_state_dict_learn,
            monitor_vars=self._monitor_vars_learn,
        )

    @property
    def collect_mode(self) -> PolicyMode:
        return PolicyMode(
            forward=self._forward_collect,
            state_dict=self._state_dict_collect,
            load_state_dict=self._load_state_dict_collect,
        )

    @property
    def eval_mode(self) -> PolicyMode:
        return PolicyMode(
            forward=self._forward_eval,
            state_dict=self._state_dict_eval,
            load_state_dict=self._load_state_dict_eval,
        )


LEARN_BACKENDS = ("auto", "numpy", "torch")


def numpy_compatible(param: torch.Tensor) -> bool:
    """Whether NumPy can update this parameter in place through a view of its memory."""
    return param.dtype == torch.float32 and param.device.type == "cpu" and param.is_contiguous()


def use_numpy_learning(policy: Policy, obstacle: str | None) -> bool:
    """Whether the update runs in NumPy (``policy.learn.backend``).

    ``obstacle`` says why this policy's model cannot learn in NumPy (None when it can). 'auto' picks NumPy
    when it can; 'numpy' insists and fails naming the obstacle; 'torch' always uses autograd.
    """
    backend = str(policy.cfg["learn"].get("backend", "auto"))
    if backend not in LEARN_BACKENDS:
        raise ConfigError(f"policy.learn.backend is '{backend}'; use one of {', '.join(LEARN_BACKENDS)}")
    if policy.frozen_parameters and obstacle is None:
        obstacle = "policy.freeze is set (frozen parameters train with backend='torch')"
    if obstacle is None and any(isinstance(m, nn.Conv2d) for m in policy.model.modules()):
        obstacle = "the model has a convolutional image encoder (pixel observations train with backend='torch')"
    if obstacle is None and not all(numpy_compatible(p) for p in policy.model.parameters()):
        obstacle = "the model's parameters are not all contiguous float32 CPU tensors"
    if backend == "numpy" and obstacle is not None:
        raise ConfigError(f"policy.learn.backend='numpy' is not possible here: {obstacle}; use 'auto' or 'torch'")
    return backend != "torch" and obstacle is None


def clip_gradients(params: list[torch.Tensor], clip_type: str | None, clip_value: float) -> None:
    """DI-engine's ``grad_clip_type``: 'clip_norm', 'clip_value' or None/'none'."""
    if clip_type in (None, "none", ""):
        return
    if clip_type == "clip_norm":
        torch.nn.utils.clip_grad_norm_(params, clip_value)
    elif clip_type == "clip_value":
        torch.nn.utils.clip_grad_value_(params, clip_value)
    else:
        raise ValueError(f"unknown grad_clip_type '{clip_type}'; use 'clip_norm', 'clip_value' or None")
