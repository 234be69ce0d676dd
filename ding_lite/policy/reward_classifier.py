"""The reward classifier (``policy.type='reward_classifier'``), trained on dataset frames by ``ding -m bc``.

It learns P(success | the observation a transition led to) from success flags of a dataset column
(:mod:`ding_lite.reward.labels`: ``next.reward > threshold``, or a 0/1 column such as ``next.success``),
each paired with the *next* frame's observation. Loss: binary cross-entropy on the logit; the monitor
logs the batch accuracy, the validation the loss, accuracy and balanced accuracy (the mean of the
success and failure recalls, which a classifier answering "failure" to everything cannot game). With
``learn.balanced`` (the default) every batch holds as many successes as failures
(:class:`ding_lite.datasets.balanced.BalancedBatchSampler`). Training is LeRobot's preset for this model:
AdamW (``learning_rate``, ``weight_decay``), the gradient norm clipped to ``grad_clip_norm``. The export is
the folder :mod:`ding_lite.reward.classifier` describes; ``env.reward_classifier`` applies it in an env.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ding_lite.checkpoint.model_io import load_learn_state
from ding_lite.config.validate import OpenSection
from ding_lite.datasets import LeRobotDataset
from ding_lite.datasets.balanced import BalancedBatchSampler
from ding_lite.errors import ConfigError
from ding_lite.policy.base import LearnLoss, Policy, register_policy
from ding_lite.policy.bc import STD_FLOOR, offline_policy_config
from ding_lite.policy.flat_adamw import FlatAdamW
from ding_lite.reward.classifier import ClassifierSpec, RewardClassifierModel, save_folder
from ding_lite.reward.labels import NEXT_FRAME, checked_threshold, has_next_frame, success_flags


@register_policy("reward_classifier")
class RewardClassifierPolicy(Policy):
    needs_dataset = True
    _spec: ClassifierSpec | None = None
    config = offline_policy_config(
        "reward_classifier",
        batch_size=64,  # frames per update
        learning_rate=1e-4,  # AdamW (LeRobot's learning_rate)
        weight_decay=0.01,
        grad_clip_norm=1.0,
        balanced=True,  # every batch half successes, half failures; False: uniform over the frames
        # success is feature > threshold; threshold None: the feature is a 0/1 (or bool) success column
        label=dict(feature="next.reward", threshold=None),
    )

    @classmethod
    def default_model_config(cls) -> dict[str, Any]:
        return dict(
            obs_features=["observation.state"],  # state features and at most one camera feature
            features=None,  # {name: {"type": "STATE"|"VISUAL", "shape"}}, filled in from the dataset
            num_classes=2,  # LeRobot's field; binary only: one logit
            hidden_dim=256,
            dropout_rate=0.1,
            # for the env wrapper: {feature: [start, stop]}, slices of the env's state observation; a feature
            # not listed is the whole of it
            env_observation=OpenSection(),
        )

    @staticmethod
    def configure_from_dataset(policy_cfg: Any, features: Mapping[str, Any]) -> None:
        """``policy.model.features`` from the dataset's; the label feature must be one number per frame."""
        model, label = policy_cfg.model, str(policy_cfg.learn.label.feature)
        if label not in features:
            raise ConfigError(f"policy.learn.label.feature '{label}' is not a feature of the dataset (it has "
                              f"{', '.join(features)})")  # fmt: skip
        if features[label].visual or int(np.prod(features[label].shape)) != 1:
            raise ConfigError(f"policy.learn.label.feature '{label}' must hold one number or flag per frame")
        found = {}
        for name in model.obs_features:
            feature = features[name]
            shape = list(feature.chw) if feature.visual else list(feature.shape)
            found[name] = {"type": "VISUAL" if feature.visual else "STATE", "shape": shape}
        model.features = found

    def _create_model(self, model_cfg: Mapping[str, Any]) -> nn.Module:
        return RewardClassifierModel(ClassifierSpec.from_model_config(model_cfg))

    @property
    def spec(self) -> ClassifierSpec:
        """The inputs and sizes of the model, from ``policy.model``."""
        if self._spec is None:
            self._spec = ClassifierSpec.from_model_config(self._cfg["model"])
        return self._spec

    @property
    def classifier(self) -> RewardClassifierModel:
        assert isinstance(self._model, RewardClassifierModel)
        return self._model

    def set_normalisation(self, stats: Mapping[str, Mapping[str, Any]]) -> None:
        """Mean and std of the state features from a dataset's ``stats.json`` content."""
        means, stds = [np.zeros(0, np.float32)], [np.ones(0, np.float32)]
        for name in self.spec.state_features:
            if name not in stats or "mean" not in stats[name] or "std" not in stats[name]:
                raise ConfigError(f"the dataset's stats.json has no mean/std for '{name}'; the reward classifier "
                                  "normalises every state feature it uses")  # fmt: skip
            means.append(np.asarray(stats[name]["mean"], dtype=np.float32).reshape(-1))
            stds.append(np.maximum(np.asarray(stats[name]["std"], dtype=np.float32).reshape(-1), STD_FLOOR))
        with torch.no_grad():
            self.classifier.obs_mean.copy_(torch.from_numpy(np.concatenate(means)))
            self.classifier.obs_std.copy_(torch.from_numpy(np.concatenate(stds)))

    def _init_learn(self) -> None:
        learn = self._cfg["learn"]
        if learn["best_by"] != "validation":
            raise ConfigError("policy.learn.best_by must be 'validation' for a reward classifier (it does not act)")
        trainable = [p for p in self._model.parameters() if p.requires_grad]
        self._optimizer = FlatAdamW([{"params": trainable}], lr=float(learn["learning_rate"]),
                                    weight_decay=float(learn["weight_decay"]))  # fmt: skip

    # --- data ----------------------------------------------------------------------------------------------
    @property
    def label_feature(self) -> str:
        return str(self._cfg["learn"]["label"]["feature"])

    def dataset_keys(self) -> list[str]:
        return [*self._cfg["model"]["obs_features"], self.label_feature]

    def dataset_windows(self) -> dict[str, range]:
        """Every observation feature one frame ahead of the label (:mod:`ding_lite.reward.labels`)."""
        return {str(name): NEXT_FRAME for name in self._cfg["model"]["obs_features"]}

    def threshold(self, dataset: LeRobotDataset) -> float:
        label = self._cfg["learn"]["label"]
        return checked_threshold(dataset.arrays(self.label_feature), label["threshold"], self.label_feature)

    def dataset_sampler(self, dataset: LeRobotDataset, batch_size: int, seed: int) -> Any:
        """Balanced batches of the frames that have a next frame (``learn.balanced``), else uniform ones."""
        if not self._cfg["learn"]["balanced"]:
            return dataset.sampler(batch_size, seed=seed)
        flags = success_flags(dataset.arrays(self.label_feature), self.threshold(dataset))
        valid = np.flatnonzero(has_next_frame(dataset.episode_start, dataset.episode_stop, len(dataset)))
        positives = int(flags[valid].sum())
        if positives in (0, len(valid)):
            kind = "success" if positives == 0 else "failure"
            raise ConfigError(f"no training frame of '{dataset.root}' is a {kind} by policy.learn.label "
                              f"({self.label_feature}, threshold {self._cfg['learn']['label']['threshold']}); "
                              "change the threshold or the episodes")  # fmt: skip
        return BalancedBatchSampler(valid, flags[valid], batch_size, seed=seed)

    def _outputs(self, batch: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(logits, labels as 0./1., valid) of the samples; valid is False where the next frame is padding."""
        names = list(self._cfg["model"]["obs_features"])
        valid = ~batch[f"{names[0]}_is_pad"][:, 0]
        parts = [batch[n][:, 0].reshape(len(valid), -1).float() for n in self.spec.state_features]
        state = torch.cat(parts, dim=1) if parts else torch.zeros(len(valid), 0)
        image = None if self.spec.image_feature is None else batch[self.spec.image_feature][:, 0].float()
        labels = success_flags(batch[self.label_feature], self._threshold).float()
        return self.classifier(state, image), labels, valid

    @property
    def _threshold(self) -> float:
        threshold = self._cfg["learn"]["label"]["threshold"]
        return 0.5 if threshold is None else float(threshold)  # 0/1 columns are checked by threshold()

    # --- learning ----------------------------------------------------------------------------------------
    def learn_loss(self, batch: Mapping[str, torch.Tensor]) -> LearnLoss:
        """BCE over the samples that have a next frame (``samples`` counts them), with their accuracy."""
        logits, labels, valid = self._outputs(batch)
        logits, labels = logits[valid], labels[valid]
        loss = nn.functional.binary_cross_entropy_with_logits(logits, labels) if len(labels) else logits.sum()
        correct = ((logits.detach() > 0).float() == labels).float()
        info = {"total_loss": loss.item(), "accuracy": float(correct.mean()) if len(labels) else 0.0,
                "positive_fraction": float(labels.mean()) if len(labels) else 0.0}  # fmt: skip
        return LearnLoss(loss, info, len(labels))

    def _forward_learn(self, batch: Mapping[str, torch.Tensor]) -> dict[str, float]:
        self._model.train()
        loss, info, _ = self.compute_learn_loss(batch)
        self._optimizer.zero_grad()
        loss.backward()
        self._optimizer.clip_grad_norm(float(self._cfg["learn"]["grad_clip_norm"]))
        self._optimizer.step()
        return {"cur_lr": self._optimizer.param_groups[0]["lr"], **info}

    def _monitor_vars_learn(self) -> list[str]:
        return ["cur_lr", "total_loss", "accuracy", "positive_fraction"]

    @torch.no_grad()
    def validation_loss(self, batch: Mapping[str, torch.Tensor]) -> float:
        """Mean BCE over the batch's samples that have a next frame."""
        self._model.eval()
        logits, labels, valid = self._outputs(batch)
        if not bool(valid.any()):
            return 0.0
        return float(nn.functional.binary_cross_entropy_with_logits(logits[valid], labels[valid]))

    @torch.no_grad()
    def validation_metrics(self, dataset: LeRobotDataset, batch_size: int) -> dict[str, float]:
        """Over every frame of ``dataset`` that has a next frame: mean BCE ``loss``, ``accuracy``,
        ``balanced_accuracy`` (mean recall of the classes present), ``success_recall`` and
        ``failure_recall`` (each when its class is present) and ``positive_fraction``."""
        self._model.eval()
        self.threshold(dataset)  # a non-0/1 column without a threshold is an error here too
        total, counts = 0.0, np.zeros((2, 2), dtype=np.int64)  # counts[label, prediction]
        for start in range(0, len(dataset), batch_size):
            indices = np.arange(start, min(start + batch_size, len(dataset)))
            logits, labels, valid = self._outputs(dataset.batch(indices, self.dataset_windows(), self.dataset_keys()))
            logits, labels = logits[valid], labels[valid]
            total += float(nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="sum"))
            np.add.at(counts, (labels.long().numpy(), (logits > 0).long().numpy()), 1)
        n = max(int(counts.sum()), 1)
        recalls = {name: float(counts[c, c] / counts[c].sum())
                   for c, name in ((1, "success_recall"), (0, "failure_recall")) if counts[c].sum() > 0}  # fmt: skip
        return {"loss": total / n, "accuracy": float(np.trace(counts)) / n,
                "balanced_accuracy": float(np.mean(list(recalls.values()))) if recalls else 0.0, **recalls,
                "positive_fraction": float(counts[1].sum()) / n}  # fmt: skip

    # --- export and state --------------------------------------------------------------------------------
    def save_pretrained(self, directory: str | Path) -> Path:
        """``<directory>/pretrained_model/`` (:mod:`ding_lite.reward.classifier`)."""
        return save_folder(self.classifier, self.spec, self._cfg, directory)

    def pretrained_feature_differences(self, saved_config: Mapping[str, Any]) -> list[str]:
        """Input features of a classifier folder's config.json whose type or shape differ from this one's."""
        own = self._cfg["model"]["features"] or {}
        saved = saved_config.get("input_features", {})
        lines = []
        for name in sorted(set(own) | set(saved)):
            if name not in own or name not in saved:
                lines.append(f"{name}: only in {'this config' if name in own else 'the pretrained model'}")
            elif list(own[name]["shape"]) != list(saved[name]["shape"]) or own[name]["type"] != saved[name]["type"]:
                lines.append(f"{name}: {saved[name]['type']} {saved[name]['shape']} there, {own[name]['type']} "
                             f"{list(own[name]['shape'])} here")  # fmt: skip
        return lines

    def _state_dict_learn(self) -> dict[str, Any]:
        return {"model": self._model.state_dict(), "optimizer": self._optimizer.state_dict()}

    def _load_state_dict_learn(self, state: Mapping[str, Any]) -> None:
        optimizers = [(self._optimizer, state["optimizer"], "optimizer")] if "optimizer" in state else []
        load_learn_state([(self._model, state["model"], "model")], optimizers)
