"""SAC: twin critics with soft-updated targets, a tanh-squashed Gaussian actor, automatic entropy tuning.

Actions live in [-1, 1] (the env maps them to its range with ``act_scale``). A train batch holds ``obs``,
``action``, ``reward``, ``done`` and ``next_obs``. Each train iteration updates, in DI-engine's order,
the critics, the actor, the temperature (with ``auto_alpha``), then the target critics by ``target_theta``.
With ``learn.backend`` 'auto' the built-in ``ContinuousQAC`` learns in NumPy (``numpy_learn.sac``: the same
losses, gradients, noise draws and optimizer state layout, about twice as fast on a small CPU).

``log_alpha`` is not in DI-engine's checkpoint; ding_lite keeps it under the ``ding_lite`` extras key, so a
DI-engine file still loads (the temperature then restarts from ``learn.alpha``).
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ding_lite.checkpoint.model_io import load_learn_state
from ding_lite.model.common import RegressionHead, ReparameterizationHead
from ding_lite.model.qac import ContinuousQAC, qac_default_config
from ding_lite.numpy_learn.adam import NumpyAdam
from ding_lite.numpy_learn.sac import NumpySAC
from ding_lite.policy.base import Policy, register_policy, use_numpy_learning
from ding_lite.policy.optim import Adam
from ding_lite.policy.weights import trainable

log = logging.getLogger("ding_lite")


def squashed_sample(mu: torch.Tensor, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A reparameterised sample ``tanh(mu + sigma * eps)`` and its log probability (tanh-corrected)."""
    pre_tanh = mu + sigma * torch.randn_like(mu)
    action = torch.tanh(pre_tanh)
    gauss = -((pre_tanh - mu) ** 2) / (2 * sigma**2) - sigma.log() - 0.5 * math.log(2 * math.pi)
    log_prob = gauss.sum(-1) - torch.log(1 - action.pow(2) + 1e-6).sum(-1)
    return action, log_prob


# TD3+BC's weight of the critics' term against behaviour cloning (Fujimoto & Gu, 2021): the actor's loss while
# pretraining with policy.offline_dataset.pretrain_actor_loss='td3_bc'
TD3_BC_ALPHA = 2.5


@register_policy("sac")
class SACPolicy(Policy):
    _model: ContinuousQAC
    on_policy = False
    behaviour_cloning = False  # True: TD3+BC's actor loss (set during offline pretraining, ding_lite.entry)
    config: ClassVar[dict[str, Any]] = dict(
        type="sac",
        import_names=[],
        cuda=False,
        on_policy=False,
        multi_agent=False,
        priority=False,
        priority_IS_weight=False,
        random_collect_size=10000,  # uniformly random transitions collected before training starts
        load_path="",
        # start model.obs_encoder from a BC model: dict(pretrained_path=<pretrained_model/>, policy_type='act'|'bc')
        bc_pretrain=None,
        # LeRobot's key: keep the pixel encoders' convolutions fixed (LeRobot's default True suits its pretrained
        # vision backbones; ding_lite's conv encoders start random, so False). No pixel encoder: nothing to freeze.
        freeze_vision_encoder=False,
        learn=dict(
            update_per_collect=1,
            batch_size=256,
            learning_rate_q=3e-4,
            learning_rate_policy=3e-4,
            learning_rate_alpha=3e-4,
            target_theta=0.005,  # soft target update rate
            discount_factor=0.99,
            alpha=0.2,  # initial entropy temperature
            auto_alpha=True,  # learn the temperature towards target_entropy
            log_space=True,  # learn log(alpha)
            target_entropy=None,  # None: -action_dim
            ignore_done=False,  # True: bootstrap through episode ends (time-limit-only envs)
            init_w=3e-3,  # uniform init range of the output layers
            resume_training=False,
            multi_gpu=False,
            backend="auto",  # 'auto' | 'numpy' | 'torch': how updates are computed (docs/numpy_learn.md)
        ),
        collect=dict(n_sample=1, unroll_len=1, collector_logit=False),
        eval=dict(),
        other=dict(),
    )

    @classmethod
    def default_model_config(cls) -> dict[str, Any]:
        return qac_default_config()

    def _create_model(self, model_cfg: Mapping[str, Any]) -> ContinuousQAC:
        return ContinuousQAC(
            obs_shape=model_cfg["obs_shape"],  # a state size, or an image shape (ding_lite.model.pixels)
            action_shape=int(model_cfg["action_shape"]),
            twin_critic=bool(model_cfg["twin_critic"]),
            actor_head_hidden_size=int(model_cfg["actor_head_hidden_size"]),
            actor_head_layer_num=int(model_cfg["actor_head_layer_num"]),
            critic_head_hidden_size=int(model_cfg["critic_head_hidden_size"]),
            critic_head_layer_num=int(model_cfg["critic_head_layer_num"]),
            encoder_hidden_size_list=model_cfg.get("encoder_hidden_size_list"),
            obs_encoder=model_cfg.get("obs_encoder"),
        )

    def freeze_prefixes(self) -> list[str]:
        """``policy.freeze``, plus the pixel encoders' convolutions with ``freeze_vision_encoder``."""
        prefixes = super().freeze_prefixes()
        if self._cfg.get("freeze_vision_encoder") and self._model.encoded:
            prefixes += [p for p in ("actor_encoder.conv", "critic_encoder.conv") if p not in prefixes]
        return prefixes

    def sync_targets(self) -> None:
        self._target_model.load_state_dict(self._model.state_dict())

    def nstep_and_gamma(self) -> tuple[int, float]:
        return 1, float(self._cfg["learn"]["discount_factor"])

    def _init_learn(self) -> None:
        learn = self._cfg["learn"]
        self._init_output_layers(float(learn["init_w"]))
        self._target_model = copy.deepcopy(self._model)
        self._target_model.requires_grad_(False)
        self._soft_pairs = (
            [p.data for p in self._target_model.parameters()],
            [p.data for p in self._model.parameters()],
        )
        action_dim = int(self._cfg["model"]["action_shape"])
        target = learn.get("target_entropy")
        self._target_entropy = float(-action_dim if target is None else target)
        self._auto_alpha = bool(learn["auto_alpha"])
        self._log_alpha = torch.tensor([math.log(float(learn["alpha"]))], requires_grad=self._auto_alpha)
        self._numpy: NumpySAC | None = None
        if use_numpy_learning(self, self._numpy_obstacle()):
            self._numpy = NumpySAC(self._model, self._target_model, self._log_alpha, learn, self._target_entropy)
            self._optimizer_q: Adam | NumpyAdam = self._numpy.optimizer_q
            self._optimizer_policy: Adam | NumpyAdam = self._numpy.optimizer_policy
            self._optimizer_alpha: Adam | NumpyAdam = self._numpy.optimizer_alpha
        else:
            critic_params = trainable(self._model.critic.parameters())  # the critic encoder too, for frames
            self._optimizer_q = Adam(critic_params, lr=float(learn["learning_rate_q"]))
            actor_params = trainable(self._model.actor.parameters())
            self._optimizer_policy = Adam(actor_params, lr=float(learn["learning_rate_policy"]))
            self._optimizer_alpha = Adam([self._log_alpha], lr=float(learn["learning_rate_alpha"]))

    def _numpy_obstacle(self) -> str | None:
        if type(self._model) is not ContinuousQAC:
            return f"the model is a {type(self._model).__name__}, not the built-in ContinuousQAC"
        if self._model.encoder is not None:
            return "the model has an obs_encoder"
        offline = self._cfg.get("offline_dataset") or {}
        if offline.get("pretrain_updates") and offline.get("pretrain_actor_loss") == "td3_bc":
            return "policy.offline_dataset.pretrain_actor_loss is 'td3_bc'"
        return None

    def _init_output_layers(self, init_w: float) -> None:
        head = self._model.actor_head[2]
        assert isinstance(head, ReparameterizationHead)
        layers = [head.mu, head.log_sigma_layer]
        for critic in self._model.critic_head:
            assert isinstance(critic, nn.Sequential) and isinstance(critic[2], RegressionHead)
            layers.append(critic[2].last)
        for layer in layers:
            nn.init.uniform_(layer.weight, -init_w, init_w)
            nn.init.uniform_(layer.bias, -init_w, init_w)

    def _init_collect(self) -> None:
        self._actor = self._model.numpy_actor()

    def _forward_collect(self, obs: np.ndarray, **kwargs: Any) -> dict[str, np.ndarray]:
        mu, sigma = self._actor(obs)
        return {"action": np.tanh(mu + sigma * self.rng.standard_normal(mu.shape)).astype(np.float32)}

    def _forward_eval(self, obs: np.ndarray) -> np.ndarray:
        return np.tanh(self._actor(obs)[0]).astype(np.float32)

    @property
    def alpha(self) -> torch.Tensor:
        return self._log_alpha.detach().exp()

    def _forward_learn(self, batch: Mapping[str, torch.Tensor]) -> dict[str, float]:
        if self._numpy is not None:
            return self._numpy.update(batch)  # includes the target update
        learn = self._cfg["learn"]
        optimizer_q, optimizer_policy, optimizer_alpha = self._torch_optimizers()
        obs, action, next_obs = batch["obs"], batch["action"].float(), batch["next_obs"]
        alpha = self.alpha
        features, next_features = self._frozen_encoder_features(obs, next_obs)
        with torch.no_grad():
            next_action, next_log_prob = squashed_sample(*self._model.compute_actor(next_obs, next_features))
            target_q = torch.min(
                torch.stack(self._target_model.compute_critic(next_obs, next_action, next_features)), dim=0
            ).values
            target_v = target_q - alpha * next_log_prob
            not_done = torch.ones_like(target_v) if learn["ignore_done"] else 1.0 - batch["done"].float()
            target = batch["reward"] + float(learn["discount_factor"]) * not_done * target_v
        q_values = self._model.compute_critic(obs, action, features)
        critic_loss = sum(nn.functional.mse_loss(q, target) for q in q_values)
        assert isinstance(critic_loss, torch.Tensor)
        optimizer_q.zero_grad()
        critic_loss.backward()
        optimizer_q.step()

        mu, sigma = self._model.compute_actor(obs, features)
        new_action, log_prob = squashed_sample(mu, sigma)
        critic_params = optimizer_q.param_groups[0]["params"]
        for param in critic_params:  # the actor's loss needs no critic weight gradients: skip computing them
            param.requires_grad_(False)
        new_q = torch.min(torch.stack(self._model.compute_critic(obs, new_action, features)), dim=0).values
        policy_loss = (alpha * log_prob - new_q).mean()
        if self.behaviour_cloning:  # the critics' term scaled by their size, plus the batch actions' squared error
            bc_loss = nn.functional.mse_loss(torch.tanh(mu), action)
            policy_loss = TD3_BC_ALPHA * policy_loss / new_q.detach().abs().mean() + bc_loss
        optimizer_policy.zero_grad()
        policy_loss.backward()
        for param in critic_params:
            param.requires_grad_(True)
        optimizer_policy.step()

        alpha_loss = torch.zeros(())
        if self._auto_alpha:
            alpha_loss = -(self._log_alpha * (log_prob.detach() + self._target_entropy)).mean()
            optimizer_alpha.zero_grad()
            alpha_loss.backward()
            optimizer_alpha.step()
        self._soft_update(float(learn["target_theta"]))
        stats = torch.stack(
            [critic_loss.detach(), policy_loss.detach(), alpha_loss.detach(), self.alpha[0],
             q_values[0].detach().mean(), target.mean(), -log_prob.detach().mean()]
        ).tolist()  # fmt: skip
        names = ["critic_loss", "policy_loss", "alpha_loss", "alpha", "q_value", "target_q_value", "entropy"]
        result = dict(zip(names, stats))
        result["total_loss"] = result["critic_loss"] + result["policy_loss"] + result["alpha_loss"]
        result["cur_lr_q"] = optimizer_q.param_groups[0]["lr"]
        result["cur_lr_p"] = optimizer_policy.param_groups[0]["lr"]
        return result

    @torch.no_grad()
    def _frozen_encoder_features(self, obs: Any, next_obs: Any) -> tuple[Any, Any]:
        """With a frozen shared encoder, its features of ``obs`` and ``next_obs``, computed once for the actor,
        the critics and the target critics (the target's frozen copy is equal: a lerp between equal values
        is exact); (None, None) otherwise, and each network encodes for itself."""
        encoder = self._model.encoder
        if encoder is None or any(p.requires_grad for p in encoder.parameters()):
            return None, None
        return encoder(obs), encoder(next_obs)

    def _torch_optimizers(self) -> tuple[Adam, Adam, Adam]:
        """The critic, actor and temperature optimizers of the torch backend."""
        q, policy, alpha = self._optimizer_q, self._optimizer_policy, self._optimizer_alpha
        assert isinstance(q, Adam) and isinstance(policy, Adam) and isinstance(alpha, Adam)
        return q, policy, alpha

    @torch.no_grad()
    def _soft_update(self, theta: float) -> None:
        target, online = self._soft_pairs
        torch._foreach_lerp_(target, online, theta)

    def _monitor_vars_learn(self) -> list[str]:
        return ["cur_lr_q", "cur_lr_p", "critic_loss", "policy_loss", "alpha_loss", "alpha", "q_value",
                "target_q_value", "entropy", "total_loss"]  # fmt: skip

    def _state_dict_learn(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "model": self._model.state_dict(),
            "target_model": self._target_model.state_dict(),
            "optimizer_q": self._optimizer_q.state_dict(),
            "optimizer_policy": self._optimizer_policy.state_dict(),
            "ding_lite": {"log_alpha": self._log_alpha.detach().clone()},
        }
        if self._auto_alpha:
            state["optimizer_alpha"] = self._optimizer_alpha.state_dict()
        return state

    def _load_state_dict_learn(self, state: Mapping[str, Any]) -> None:
        models = [(self._model, state["model"], "model"),
                  (self._target_model, state.get("target_model", state["model"]), "target_model")]  # fmt: skip
        own = {"optimizer_q": self._optimizer_q, "optimizer_policy": self._optimizer_policy}
        if self._auto_alpha:
            own["optimizer_alpha"] = self._optimizer_alpha
        load_learn_state(models, [(opt, state[name], name) for name, opt in own.items() if name in state])
        log_alpha = state.get("ding_lite", {}).get("log_alpha")
        if log_alpha is not None:
            with torch.no_grad():
                self._log_alpha.copy_(log_alpha)
        elif self._auto_alpha:
            log.warning(
                "checkpoint has no log_alpha (DI-engine does not save it); alpha restarts at %s", self.alpha.item()
            )
