"""Behaviour cloning with an MLP (``policy.type='bc'``), trained on dataset frames by ``ding -m bc``.

The model maps the concatenated, normalised observation features (``model.obs_features``, e.g.
``observation.state``) to the action: continuous actions are regressed in normalised units (``loss``
'mse' or 'l1') and un-normalised on the way out; discrete actions (an int feature) are classified with
cross-entropy. The normalisation statistics (mean and std of each input feature and of the action) come
from the dataset's ``stats.json`` and are buffers of the model, so checkpoints and ``pretrained_model/``
folders carry them and a deployed policy needs nothing else. A feature without stats is an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ding_lite.checkpoint.model_io import load_learn_state
from ding_lite.errors import ConfigError
from ding_lite.model.pixels import conv_stack
from ding_lite.policy.base import LearnLoss, Policy, clip_gradients, register_policy
from ding_lite.policy.optim import Adam

STD_FLOOR = 1e-6  # a constant feature (std 0) is centred but not scaled up


def offline_policy_config(policy_type: str, **learn: Any) -> dict[str, Any]:
    """The config of a policy trained on a dataset by ``ding -m bc``: ``learn`` plus the keys every such
    policy has (validation, best-model choice, exports, resume)."""
    return dict(
        type=policy_type,
        cuda=False,
        on_policy=False,
        load_path="",
        learn=dict(
            **learn,
            val_freq=100,  # validation loss every this many updates (0: never)
            best_by="validation",  # what picks ckpt_best: 'validation' loss, or 'eval_return' in the env
            # (every policy.eval.evaluator.eval_freq updates)
            save_freq=0,  # export checkpoints/<step>/pretrained_model every this many updates (0: never)
            resume_training=False,
            backend="torch",
        ),
        collect=dict(),
        eval=dict(evaluator=dict()),
        other=dict(),
    )


class BCModel(nn.Module):
    """obs (B, obs_dim) in env units, and with ``image_shape`` a (B, C, H, W) frame in [0, 1], -> action
    (B, action_dim) in env units, or logits (B, n) when discrete. Frames pass through ``conv`` (the
    convolutions of ``ding_lite.model.pixels.ConvEncoder``) and are flattened before the state features."""

    obs_mean: torch.Tensor
    obs_std: torch.Tensor
    action_mean: torch.Tensor
    action_std: torch.Tensor

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        hidden_size_list: Sequence[int],
        discrete: bool,
        image_shape: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        image_size = 0
        self.conv: nn.Module | None = None
        if image_shape:
            self.conv, image_size = conv_stack(image_shape)
            self.register_buffer("image_shape", torch.tensor([int(n) for n in image_shape]))  # read back by eval
        sizes = [image_size + obs_dim, *hidden_size_list]
        layers: list[nn.Module] = []
        for size_in, size_out in zip(sizes, sizes[1:]):
            layers += [nn.Linear(size_in, size_out), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(sizes[-1], action_dim)
        self.discrete = discrete
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_std", torch.ones(obs_dim))
        self.register_buffer("action_mean", torch.zeros(1 if discrete else action_dim))
        self.register_buffer("action_std", torch.ones(1 if discrete else action_dim))

    def normalised(self, obs: torch.Tensor, image: torch.Tensor | None = None) -> torch.Tensor:
        """Actions in normalised units (or logits) for observations in env units."""
        x = (obs - self.obs_mean) / self.obs_std
        if self.conv is not None:
            if image is None:
                raise ValueError("this BC model observes a camera frame; pass the image")
            x = torch.cat([self.conv(image).flatten(1), x], dim=1)
        return self.head(self.body(x))

    def forward(self, obs: torch.Tensor, image: torch.Tensor | None = None) -> torch.Tensor:
        out = self.normalised(obs, image)
        return out if self.discrete else out * self.action_std + self.action_mean


@register_policy("bc")
class BCPolicy(Policy):
    needs_dataset = True
    config = offline_policy_config(
        "bc",
        batch_size=64,  # frames per update
        learning_rate=1e-3,
        loss="mse",  # 'mse' or 'l1' for continuous actions; discrete actions use cross-entropy
        grad_clip_type=None,
        grad_clip_value=0.0,
    )

    @classmethod
    def default_model_config(cls) -> dict[str, Any]:
        return dict(
            obs_features=["observation.state"],  # dataset features concatenated into the input
            action_feature="action",
            obs_shape=None,  # size of the non-image features together; filled in from the dataset
            image_feature=None,  # the one camera feature among obs_features, if any; from the dataset
            image_shape=None,  # its [C, H, W]; from the dataset
            action_shape=None,  # action dim (continuous) or number of actions (discrete); from the dataset
            discrete=None,  # from the action feature's dtype when None
            hidden_size_list=[256, 256],
        )

    @staticmethod
    def model_config_from_weights(weights: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        """obs_shape, action_shape and discrete of a saved BC model (to evaluate it without its dataset)."""
        if "obs_mean" not in weights or "head.weight" not in weights:
            raise ConfigError("these weights are not a BC model's: they lack obs_mean and head.weight")
        outputs, action_stats = int(weights["head.weight"].shape[0]), int(weights["action_mean"].numel())
        image = weights.get("image_shape")
        return {"obs_shape": int(weights["obs_mean"].numel()), "action_shape": outputs,
                "discrete": outputs != action_stats,
                "image_shape": None if image is None else image.tolist()}  # fmt: skip

    def _create_model(self, model_cfg: Mapping[str, Any]) -> nn.Module:
        if model_cfg["obs_shape"] is None or model_cfg["action_shape"] is None:
            raise ConfigError(
                "policy.model.obs_shape and action_shape are unset; ding -m bc fills them from the dataset"
            )
        return BCModel(
            int(model_cfg["obs_shape"]),
            int(model_cfg["action_shape"]),
            [int(h) for h in model_cfg["hidden_size_list"]],
            bool(model_cfg["discrete"]),
            model_cfg.get("image_shape"),
        )

    @property
    def bc_model(self) -> BCModel:
        assert isinstance(self._model, BCModel)
        return self._model

    def set_normalisation(self, stats: Mapping[str, Mapping[str, Any]]) -> None:
        """Input and action statistics from a dataset's ``stats.json`` content."""
        model_cfg = self._cfg["model"]
        means, stds = [np.zeros(0, np.float32)], [np.ones(0, np.float32)]
        for name in self.state_features():
            mean, std = _mean_std(stats, name)
            means.append(mean)
            stds.append(std)
        model = self.bc_model
        with torch.no_grad():
            model.obs_mean.copy_(torch.from_numpy(np.concatenate(means)))
            model.obs_std.copy_(torch.from_numpy(np.concatenate(stds)))
            if not model.discrete:
                mean, std = _mean_std(stats, str(model_cfg["action_feature"]))
                model.action_mean.copy_(torch.from_numpy(mean))
                model.action_std.copy_(torch.from_numpy(std))

    def _init_learn(self) -> None:
        learn = self._cfg["learn"]
        if learn["loss"] not in ("mse", "l1"):
            raise ConfigError(f"policy.learn.loss is {learn['loss']!r}; use 'mse' or 'l1'")
        trainable = [p for p in self._model.parameters() if p.requires_grad]
        self._optimizer = Adam(trainable, lr=float(learn["learning_rate"]))

    def dataset_keys(self) -> list[str]:
        """The dataset features one training batch needs."""
        model_cfg = self._cfg["model"]
        return [*model_cfg["obs_features"], str(model_cfg["action_feature"])]

    def dataset_windows(self) -> dict[str, range]:
        """Features read as time windows (none: one frame per sample)."""
        return {}

    def image_feature(self) -> str | None:
        """The obs feature that is a camera frame, else None."""
        name = self._cfg["model"].get("image_feature")
        return None if name is None else str(name)

    def state_features(self) -> list[str]:
        return [n for n in self._cfg["model"]["obs_features"] if n != self.image_feature()]

    def inputs(self, batch: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(state features concatenated (B, obs_shape), the frame (B, C, H, W) in [0, 1] or None)."""
        image_name = self.image_feature()
        first = next(iter(batch.values()))
        parts = [batch[name].reshape(len(batch[name]), -1).float() for name in self.state_features()]
        state = torch.cat(parts, dim=1) if parts else torch.zeros(len(first), 0)
        return state, None if image_name is None else batch[image_name].float()

    def loss(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        model = self.bc_model
        out = model.normalised(*self.inputs(batch))
        action = batch[str(self._cfg["model"]["action_feature"])]
        if model.discrete:
            return nn.functional.cross_entropy(out, action.reshape(-1).long())
        target = (action.reshape(out.shape).float() - model.action_mean) / model.action_std
        if self._cfg["learn"]["loss"] == "l1":
            return nn.functional.l1_loss(out, target)
        return nn.functional.mse_loss(out, target)

    def learn_loss(self, batch: Mapping[str, torch.Tensor]) -> LearnLoss:
        loss = self.loss(batch)
        return LearnLoss(loss, {"total_loss": loss.item()}, len(batch[str(self._cfg["model"]["action_feature"])]))

    def _forward_learn(self, batch: Mapping[str, torch.Tensor]) -> dict[str, float]:
        self._model.train()
        loss, info, _ = self.compute_learn_loss(batch)
        self._optimizer.zero_grad()
        loss.backward()
        learn = self._cfg["learn"]
        clip_gradients(
            self._optimizer.param_groups[0]["params"], learn["grad_clip_type"], float(learn["grad_clip_value"])
        )
        self._optimizer.step()
        return {"cur_lr": self._optimizer.param_groups[0]["lr"], **info}

    @torch.no_grad()
    def validation_loss(self, batch: Mapping[str, torch.Tensor]) -> float:
        self._model.eval()
        return float(self.loss(batch))

    @torch.no_grad()
    def _forward_eval(self, obs: Any) -> np.ndarray:
        """Actions for env observations: a state array, or with an image model the env's uint8 frames
        (``obs_type='pixels'``) or ``{'image', 'state'}`` (``'pixels_state'``)."""
        self._model.eval()
        image = None
        if self.bc_model.conv is not None:
            frames = obs["image"] if isinstance(obs, Mapping) else obs
            image = torch.as_tensor(np.asarray(frames), dtype=torch.float32) / 255.0  # the dataset's [0, 1] scale
            state = obs["state"] if isinstance(obs, Mapping) else np.zeros((len(frames), 0), np.float32)
        else:
            state = obs["state"] if isinstance(obs, Mapping) else obs
        state_tensor = torch.as_tensor(np.asarray(state), dtype=torch.float32)
        out = self._model(state_tensor.reshape(len(state_tensor), -1), image)
        return out.argmax(dim=1).numpy() if self.bc_model.discrete else out.numpy()

    def _state_dict_learn(self) -> dict[str, Any]:
        return {"model": self._model.state_dict(), "optimizer": self._optimizer.state_dict()}

    def _load_state_dict_learn(self, state: Mapping[str, Any]) -> None:
        optimizers = [(self._optimizer, state["optimizer"], "optimizer")] if "optimizer" in state else []
        load_learn_state([(self._model, state["model"], "model")], optimizers)


def _mean_std(stats: Mapping[str, Mapping[str, Any]], name: str) -> tuple[np.ndarray, np.ndarray]:
    if name not in stats or "mean" not in stats[name] or "std" not in stats[name]:
        raise ConfigError(f"the dataset's stats.json has no mean/std for '{name}'; BC normalises every feature it uses")
    mean = np.asarray(stats[name]["mean"], dtype=np.float32).reshape(-1)
    std = np.maximum(np.asarray(stats[name]["std"], dtype=np.float32).reshape(-1), STD_FLOOR)
    return mean, std
