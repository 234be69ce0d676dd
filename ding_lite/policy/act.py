"""ACT trained by ``ding -m bc`` (``policy.type='act'``): :class:`ding_lite.act.ACTPolicy` behind the policy
contract, so the learner, hooks, checkpoints and exact resume of every other policy apply.

The model keys are LeRobot's ACT config fields (``chunk_size``, ``dim_model``, ...); the input and output
features and the normalisation statistics come from the dataset. Training is LeRobot's preset: AdamW
(``learning_rate`` = ``optimizer_lr``, ``weight_decay``), the backbone at ``lr_backbone``, the global
gradient norm clipped to ``grad_clip_norm``, dropout and the CVAE on. The validation loss is the L1 of the
zero-latent prediction in eval mode (deterministic). Exports are LeRobot ``pretrained_model/`` folders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ding_lite.act.config import ACTConfig, Feature
from ding_lite.act.normalize import EPS, Normalizer, stats_from_json
from ding_lite.act.per_env import PerEnvActions
from ding_lite.act.policy import ACTPolicy
from ding_lite.checkpoint.model_io import load_learn_state
from ding_lite.config.validate import OpenSection
from ding_lite.errors import ConfigError
from ding_lite.policy.base import LearnLoss, Policy, register_policy
from ding_lite.policy.bc import offline_policy_config
from ding_lite.policy.flat_adamw import FlatAdamW

FEATURE_TYPES = {"observation.state": "STATE", "observation.environment_state": "ENV"}
ACT_FIELDS = ("chunk_size", "n_action_steps", "dim_model", "n_heads", "dim_feedforward", "n_encoder_layers",
              "n_decoder_layers", "use_vae", "latent_dim", "n_vae_encoder_layers", "dropout", "kl_weight", "pre_norm",
              "feedforward_activation", "temporal_ensemble_coeff", "normalization_mapping")  # fmt: skip


@register_policy("act")
class ACTTrainingPolicy(Policy):
    needs_dataset = True
    config = offline_policy_config(
        "act",
        batch_size=8,  # frames (each with its action chunk) per update
        learning_rate=1e-5,  # AdamW lr (LeRobot's optimizer_lr)
        lr_backbone=1e-5,  # lr of the image backbone
        weight_decay=1e-4,
        grad_clip_norm=10.0,
    )

    @classmethod
    def default_model_config(cls) -> dict[str, Any]:
        defaults = ACTConfig()
        fields = {name: getattr(defaults, name) for name in ACT_FIELDS}
        return dict(
            obs_features=["observation.state", "observation.environment_state"],  # and/or image features
            action_feature="action",
            features=None,  # {name: {"type", "shape"}} filled in from the dataset
            # for play in an env: {feature: [start, stop]}, slices of the env's observation; a feature not listed is
            # the whole observation (Reacher: {'observation.environment_state': [4, 6]})
            env_observation=OpenSection(),
            **fields,
        )

    @staticmethod
    def configure_from_dataset(policy_cfg: Any, features: Mapping[str, Any]) -> None:
        """``policy.model.features`` (LeRobot feature types and shapes) from the dataset's features."""
        model = policy_cfg.model
        found = {}
        for name in [*model.obs_features, model.action_feature]:
            feature = features[name]
            kind = "ACTION" if name == model.action_feature else FEATURE_TYPES.get(name, "STATE")
            shape = list(feature.chw) if feature.visual else list(feature.shape)
            found[name] = {"type": "VISUAL" if feature.visual else kind, "shape": shape}
        model.features = found

    def act_config(self) -> ACTConfig:
        model = self._cfg["model"]
        if not model.get("features"):
            raise ConfigError("policy.model.features is unset; ding -m bc fills it in from the dataset")
        features = {name: Feature(f["type"], tuple(f["shape"])) for name, f in model["features"].items()}
        config = ACTConfig(
            input_features={n: f for n, f in features.items() if f.type != "ACTION"},
            output_features={n: f for n, f in features.items() if f.type == "ACTION"},
            optimizer_lr=float(self._cfg["learn"]["learning_rate"]),
            optimizer_weight_decay=float(self._cfg["learn"]["weight_decay"]),
            optimizer_lr_backbone=float(self._cfg["learn"]["lr_backbone"]),
            **{name: model[name] for name in ACT_FIELDS},
        )
        config.validate_features()
        return config

    def _create_model(self, model_cfg: Mapping[str, Any]) -> nn.Module:
        config = self.act_config()
        features = {**config.input_features, **config.output_features}
        unit = {
            name: {
                "mean": np.zeros(f.shape),
                "std": np.ones(f.shape),
                "min": -np.ones(f.shape),
                "max": np.ones(f.shape),
            }
            for name, f in features.items()
        }
        return ACTPolicy.from_stats(config, unit)  # set_normalisation puts in the dataset's stats

    @property
    def act(self) -> ACTPolicy:
        assert isinstance(self._model, ACTPolicy)
        return self._model

    def set_normalisation(self, stats: Mapping[str, Mapping[str, Any]]) -> None:
        config, parsed = self.act.config, stats_from_json(stats)
        features = {**config.input_features, **config.output_features}
        mapping = config.normalization_mapping
        self.act.normalizer = Normalizer(features, mapping, parsed, eps=EPS, source="the dataset's stats.json")
        self.act.unnormalizer = Normalizer(config.output_features, mapping, parsed, eps=EPS, source="stats.json")

    def dataset_keys(self) -> list[str]:
        model = self._cfg["model"]
        return [*model["obs_features"], str(model["action_feature"])]

    def dataset_windows(self) -> dict[str, range]:
        return {str(self._cfg["model"]["action_feature"]): range(int(self._cfg["model"]["chunk_size"]))}

    def _init_eval(self) -> None:
        self._per_env: PerEnvActions | None = None

    def _init_learn(self) -> None:
        learn = self._cfg["learn"]
        self._optimizer = FlatAdamW(  # torch.optim.AdamW's update and state layout, on one buffer per group
            self.act.optim_param_groups(),
            lr=float(learn["learning_rate"]),
            weight_decay=float(learn["weight_decay"]),
        )

    def learn_loss(self, batch: Mapping[str, torch.Tensor]) -> LearnLoss:
        """ACT's loss; its L1 and KL terms are both means over rows (the L1 over rows, steps and action dims)."""
        loss, info = self.act(self._renamed(batch))
        return LearnLoss(
            loss, {"total_loss": loss.item(), **info}, len(batch[str(self._cfg["model"]["action_feature"])])
        )

    def _forward_learn(self, batch: Mapping[str, torch.Tensor]) -> dict[str, float]:
        self.act.train()
        loss, info, _ = self.compute_learn_loss(batch)
        self._optimizer.zero_grad()
        loss.backward()
        self._optimizer.clip_grad_norm(float(self._cfg["learn"]["grad_clip_norm"]))
        self._optimizer.step()
        return {"cur_lr": self._optimizer.param_groups[0]["lr"], **info}

    def _monitor_vars_learn(self) -> list[str]:
        return ["cur_lr", "total_loss", "l1_loss", "kld_loss"]

    @torch.no_grad()
    def validation_loss(self, batch: Mapping[str, torch.Tensor]) -> float:
        self.act.eval()
        loss, _ = self.act(self._renamed(batch))
        return float(loss)

    def _renamed(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The batch with the action chunk under ACT's names ('action', 'action_is_pad')."""
        name = str(self._cfg["model"]["action_feature"])
        out = {key: value for key, value in batch.items() if key not in (name, f"{name}_is_pad")}
        out["action"], out["action_is_pad"] = batch[name], batch[f"{name}_is_pad"]
        return out

    @classmethod
    def from_folder(cls, policy_cfg: Any, folder: str | Path) -> ACTTrainingPolicy:
        """The policy of a LeRobot or ding_lite ACT ``pretrained_model/`` folder (weights, features and
        normalisation from its files), to play in the env of ``policy_cfg``'s config."""
        act = ACTPolicy.from_pretrained(folder)
        policy_cfg.model.features = {name: f.to_json() for name, f in {**act.config.input_features,
                                     **act.config.output_features}.items()}  # fmt: skip
        policy_cfg.model.update({name: getattr(act.config, name) for name in ACT_FIELDS})
        policy = cls(policy_cfg, model=act)
        return policy

    def pretrained_feature_differences(self, saved_config: Mapping[str, Any]) -> list[str]:
        """Features of an ACT folder's config.json (LeRobot's layout) whose type or shape differ from this one's."""
        own = {**self.act.config.input_features, **self.act.config.output_features}
        saved = {**saved_config.get("input_features", {}), **saved_config.get("output_features", {})}
        lines = []
        for name in sorted(set(own) | set(saved)):
            if name not in saved or name not in own:
                where = "this config" if name in own else "the pretrained model"
                lines.append(f"{name}: only in {where}")
            elif tuple(saved[name].get("shape", ())) != own[name].shape or saved[name].get("type") != own[name].type:
                lines.append(f"{name}: {saved[name].get('type')} {saved[name].get('shape')} there, {own[name].type} "
                             f"{list(own[name].shape)} here")  # fmt: skip
        return lines

    def reset_eval(self, rows: Sequence[int] | None = None) -> None:
        """Forget queued actions: of every env (``rows`` None, before a round of episodes), or of the envs in
        ``rows``, whose episodes just began (the evaluator's envs reset one by one)."""
        if rows is None or self._per_env is None:
            self._per_env = None  # rebuilt for the batch size at the next call
        else:
            self._per_env.restart(rows)

    @torch.no_grad()
    def _forward_eval(self, obs: np.ndarray) -> np.ndarray:
        """Actions for a batch of env observations, each feature sliced from them as ``env_observation`` says;
        per env, one chunk per ``n_action_steps`` calls (or temporal ensembling), in the env's own units."""
        slices = self._cfg["model"].get("env_observation") or {}
        batch = {}
        for name in self.act.config.input_features:
            start, stop = slices.get(name, (0, obs.shape[1]))
            batch[name] = torch.as_tensor(obs[:, int(start) : int(stop)], dtype=torch.float32)
        if self._per_env is None or self._per_env.n_envs != len(obs):
            self._per_env = PerEnvActions(self.act, len(obs))
        return self._per_env.act(batch).numpy()

    def save_pretrained(self, directory: str | Path) -> Path:
        """``<directory>/pretrained_model/`` in LeRobot's layout (config.json, model.safetensors, processors)."""
        return self.act.save_pretrained(Path(directory) / "pretrained_model")

    def _state_dict_learn(self) -> dict[str, Any]:
        return {"model": self.act.state_dict(), "optimizer": self._optimizer.state_dict()}

    def _load_state_dict_learn(self, state: Mapping[str, Any]) -> None:
        optimizers = [(self._optimizer, state["optimizer"], "optimizer")] if "optimizer" in state else []
        load_learn_state([(self.act, state["model"], "model")], optimizers)
