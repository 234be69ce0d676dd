"""SAC's update for a ``ContinuousQAC`` in NumPy: the same losses, gradients and updates as the torch path.

In DI-engine's order: the critics regress on the TD target of the target critics (their minimum, minus
``alpha`` times the next action's log probability); the actor minimises ``alpha * log_prob - min Q`` (the
gradient flows through the updated critics to the action, the critic weights get none); with
``auto_alpha`` the temperature follows ``target_entropy``; then the target network moves towards the
online one by ``target_theta`` (with torch's multi-tensor ``lerp_``, one call for all parameters: faster
than a NumPy loop over them, and the same rounding as the torch path).

The Gaussian noise comes from torch's global generator, drawn in the torch path's order (next
observations, then observations), so both backends draw the same samples and a checkpoint's RNG state
resumes either. Where ``torch.min`` over the stacked critics meets a tie, the gradient goes to the first
critic, as torch's index-selecting reduction does; ``clamp`` passes the gradient of log sigma on its
closed interval [-20, 2], as torch's does.

The reparameterised Gaussian term of the log probability is ``-eps**2 / 2 - log sigma - log(2 pi) / 2``:
its gradient is 0 for ``mu`` and -1 for ``log sigma``. Autograd reaches the same through terms that
cancel (up to float rounding); here they are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import torch

from ding_lite.model.common import ReparameterizationHead
from ding_lite.model.numpy_infer import linears
from ding_lite.model.qac import ContinuousQAC
from ding_lite.numpy_learn.actors import HALF_LOG_2PI, LOG_SIGMA_MAX, LOG_SIGMA_MIN
from ding_lite.numpy_learn.adam import NumpyAdam
from ding_lite.numpy_learn.dense import DenseChain
from ding_lite.numpy_learn.params import ParamSet


class Sample(NamedTuple):
    """A squashed Gaussian sample and what its gradient needs (each (batch, action_dim) but log_prob)."""

    action: np.ndarray  # tanh(pre_tanh)
    log_prob: np.ndarray  # (batch,), tanh-corrected
    spread: np.ndarray  # sigma * noise = d pre_tanh / d log sigma
    clamp_open: np.ndarray  # where the clamp of log sigma passes the gradient


def floats(tensor: torch.Tensor) -> np.ndarray:
    """A batch entry as float32 NumPy (no copy when it already is)."""
    return np.asarray(tensor.numpy(), dtype=np.float32)


class NumpySAC:
    """Optimizers and update of a ``ContinuousQAC`` and its target copy.

    ``optimizer_q``, ``optimizer_policy`` and ``optimizer_alpha`` have torch Adam's ``state_dict`` layout
    and own, in the torch optimizers' order, ``critic_head``'s parameters, ``actor_head``'s and
    ``[log_alpha]`` (a 1-element float32 tensor, written in place).
    """

    def __init__(
        self,
        model: ContinuousQAC,
        target_model: ContinuousQAC,
        log_alpha: torch.Tensor,
        learn_cfg: Mapping[str, Any],
        target_entropy: float,
    ) -> None:
        self.gamma = np.float32(learn_cfg["discount_factor"])
        self.theta = float(learn_cfg["target_theta"])
        self.ignore_done = bool(learn_cfg["ignore_done"])
        self.auto_alpha = bool(learn_cfg["auto_alpha"])
        self.target_entropy = np.float32(target_entropy)
        self.critic_params = ParamSet(list(model.critic_head.parameters()))
        self.actor_params = ParamSet(list(model.actor_head.parameters()))
        self.alpha_params = ParamSet([log_alpha])
        self.optimizer_q = NumpyAdam(self.critic_params, lr=float(learn_cfg["learning_rate_q"]))
        self.optimizer_policy = NumpyAdam(self.actor_params, lr=float(learn_cfg["learning_rate_policy"]))
        self.optimizer_alpha = NumpyAdam(self.alpha_params, lr=float(learn_cfg["learning_rate_alpha"]))
        self.log_alpha = self.alpha_params.values[0]

        head = model.actor_head[2]
        assert isinstance(head, ReparameterizationHead)
        self.action_dim = head.mu.out_features
        trunk_layers = linears(model.actor_head[0]) + linears(head.main)
        self.trunk = DenseChain(trunk_layers, self.actor_params, relu_last=True)
        self.mu = DenseChain([head.mu], self.actor_params)
        self.log_sigma = DenseChain([head.log_sigma_layer], self.actor_params)
        self.critics = [DenseChain(linears(critic), self.critic_params) for critic in model.critic_head]
        self.target_critics = [DenseChain(linears(critic)) for critic in target_model.critic_head]
        self.target_tensors = [param.detach() for param in target_model.parameters()]
        self.online_tensors = [param.detach() for param in model.parameters()]

    def sample(self, obs: np.ndarray, noise: np.ndarray, keep: bool) -> Sample:
        """``tanh(mu + sigma * noise)`` of the actor at ``obs``; ``keep`` caches the forward for backward."""
        if keep:
            feature = self.trunk.forward(obs)
            mu, raw = self.mu.forward(feature), self.log_sigma.forward(feature)
        else:
            feature = self.trunk(obs)
            mu, raw = self.mu(feature), self.log_sigma(feature)
        log_sigma = np.clip(raw, LOG_SIGMA_MIN, LOG_SIGMA_MAX)
        sigma = np.exp(log_sigma)
        spread = sigma * noise
        action = mu + spread  # before tanh, which is applied in place below
        offset = action - mu
        torch.from_numpy(action).tanh_()  # torch's tanh to the last bit: ``1 - action**2`` magnifies it near +-1
        gauss = -(offset * offset) / (2 * sigma * sigma) - log_sigma - HALF_LOG_2PI
        log_prob = gauss.sum(-1) - np.log(1 - action * action + 1e-6).sum(-1)
        clamp_open = (raw >= LOG_SIGMA_MIN) & (raw <= LOG_SIGMA_MAX)
        return Sample(action, log_prob, spread, clamp_open)

    def update(self, batch: Mapping[str, torch.Tensor]) -> dict[str, float]:
        obs, action, next_obs = floats(batch["obs"]), floats(batch["action"]), floats(batch["next_obs"])
        reward = floats(batch["reward"])
        size = len(obs)
        next_noise = torch.randn(size, self.action_dim).numpy()  # the torch path's order: next_obs first
        noise = torch.randn(size, self.action_dim).numpy()
        alpha = np.exp(self.log_alpha)[0]

        next_sample = self.sample(next_obs, next_noise, keep=False)
        next_x = np.concatenate([next_obs, next_sample.action], axis=1)
        target_q = self.target_critics[0](next_x)[:, 0]
        for critic in self.target_critics[1:]:
            target_q = np.minimum(target_q, critic(next_x)[:, 0])
        target_v = target_q - alpha * next_sample.log_prob
        if self.ignore_done:
            target = reward + self.gamma * target_v
        else:
            not_done = 1 - floats(batch["done"])
            target = reward + self.gamma * not_done * target_v

        x = np.concatenate([obs, action], axis=1)
        q_values = []
        critic_loss = np.float32(0.0)
        for critic in self.critics:
            q = critic.forward(x)[:, 0]
            error = q - target
            critic_loss += np.mean(error * error)
            critic.backward((error * np.float32(2 / size))[:, None], input_grad=False)
            q_values.append(q)
        self.optimizer_q.step()

        policy_loss, log_prob = self._update_actor(obs, noise, alpha)

        alpha_loss = np.float32(0.0)
        if self.auto_alpha:
            shifted = log_prob + self.target_entropy
            alpha_loss = -np.mean(self.log_alpha * shifted)
            self.alpha_params.grad[0] = -np.mean(shifted)
            self.optimizer_alpha.step()
        torch._foreach_lerp_(self.target_tensors, self.online_tensors, self.theta)

        stats = [critic_loss, policy_loss, alpha_loss, np.exp(self.log_alpha)[0], q_values[0].mean(), target.mean(),
                 -log_prob.mean()]  # fmt: skip
        names = ["critic_loss", "policy_loss", "alpha_loss", "alpha", "q_value", "target_q_value", "entropy"]
        result = {name: float(value) for name, value in zip(names, stats)}
        result["total_loss"] = result["critic_loss"] + result["policy_loss"] + result["alpha_loss"]
        result["cur_lr_q"] = self.optimizer_q.param_groups[0]["lr"]
        result["cur_lr_p"] = self.optimizer_policy.param_groups[0]["lr"]
        return result

    def _update_actor(self, obs: np.ndarray, noise: np.ndarray, alpha: np.float32) -> tuple[np.float32, np.ndarray]:
        """One actor step on ``mean(alpha * log_prob - min Q)``; returns that loss and the log probabilities."""
        size, obs_dim = obs.shape
        sample = self.sample(obs, noise, keep=True)
        x = np.concatenate([obs, sample.action], axis=1)
        q_values = np.stack([critic.forward(x)[:, 0] for critic in self.critics])
        chosen = q_values.argmin(axis=0)  # the first critic on ties, as torch.min(dim=0)
        policy_loss = np.mean(alpha * sample.log_prob - q_values.min(axis=0))

        action = sample.action
        squash = 1 - action * action
        d_action = (2 * alpha / size) * action / (squash + 1e-6)  # from -log(1 - action**2 + 1e-6)
        for i, critic in enumerate(self.critics):
            d_q = np.where(chosen == i, np.float32(-1 / size), np.float32(0.0))[:, None]
            d_x = critic.backward(d_q, param_grads=False)
            assert d_x is not None
            d_action += d_x[:, obs_dim:]
        d_pre_tanh = d_action * squash
        d_log_sigma = (d_pre_tanh * sample.spread - alpha / size) * sample.clamp_open
        d_feature = self.mu.backward(d_pre_tanh)
        d_log_sigma_feature = self.log_sigma.backward(d_log_sigma)
        assert d_feature is not None and d_log_sigma_feature is not None
        self.trunk.backward(d_feature + d_log_sigma_feature, input_grad=False)
        self.optimizer_policy.step()
        return policy_loss, sample.log_prob
