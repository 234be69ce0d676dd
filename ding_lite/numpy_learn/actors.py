"""PPO's two action distributions over the shared encoder's features, forward and backward in NumPy.

Each actor computes, for a batch of features and the actions taken, the log probability of each action
and the distribution's entropy (summed over action dimensions), keeps what its backward pass needs, and
turns d loss / d log_prob and d loss / d entropy (both per row) into d loss / d feature, writing its own
parameters' gradients on the way.
"""

from __future__ import annotations

import math

import numpy as np

from ding_lite.model.common import ReparameterizationHead
from ding_lite.model.numpy_infer import linears
from ding_lite.numpy_learn.dense import DenseChain
from ding_lite.numpy_learn.params import ParamSet

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
LOG_SIGMA_MIN, LOG_SIGMA_MAX = -20.0, 2.0


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class CategoricalActor:
    """Logits from ``DiscreteHead``'s layers; actions are integer indices."""

    def __init__(self, layers: DenseChain) -> None:
        self.logits = layers
        self._log_probs = self._probs = self._entropy = np.zeros(0, dtype=np.float32)
        self._action = np.zeros(0, dtype=np.int64)

    def log_prob(self, feature: np.ndarray, action: np.ndarray) -> np.ndarray:
        return log_softmax(self.logits(feature))[np.arange(len(action)), action.astype(np.int64)]

    def forward(self, feature: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self._action = action.astype(np.int64)
        self._log_probs = log_softmax(self.logits.forward(feature))
        self._probs = np.exp(self._log_probs)
        self._entropy = -(self._probs * self._log_probs).sum(axis=1)
        return self._log_probs[np.arange(len(action)), self._action], self._entropy

    def backward(self, d_logp: np.ndarray, d_entropy: np.ndarray) -> np.ndarray:
        probs, log_probs = self._probs, self._log_probs
        d_logits = -probs * d_logp[:, None]
        d_logits[np.arange(len(d_logp)), self._action] += d_logp
        # dH/dz_j = -p_j (log p_j + H)
        d_logits -= d_entropy[:, None] * probs * (log_probs + self._entropy[:, None])
        return self.logits.backward(d_logits.astype(np.float32))


class GaussianActor:
    """A diagonal Gaussian from ``ReparameterizationHead``: ``mu`` (optionally tanh-bounded) and a log sigma
    that is a layer clamped to [-20, 2] ('conditioned') or one learned row ('independent')."""

    def __init__(self, head: ReparameterizationHead, params: ParamSet) -> None:
        self.main = DenseChain(linears(head.main), params, relu_last=True)
        self.mu_layer = DenseChain([head.mu], params)
        self.tanh = head.bound_type == "tanh"
        self.conditioned = head.sigma_type == "conditioned"
        if self.conditioned:
            self.sigma_layer = DenseChain([head.log_sigma_layer], params)
        else:
            self.sigma_row = params.value_of(head.log_sigma_param)
            self.sigma_row_grad = params.grad_of(head.log_sigma_param)
        self._cache: tuple[np.ndarray, ...] = ()

    def _distribution(self, feature: np.ndarray, keep: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(mu, log_sigma, clamp_open)``: where the clamp of log sigma passes its gradient."""
        hidden = self.main.forward(feature) if keep else self.main(feature)
        mu = self.mu_layer.forward(hidden) if keep else self.mu_layer(hidden)
        if self.tanh:
            mu = np.tanh(mu)
        if self.conditioned:
            raw = self.sigma_layer.forward(hidden) if keep else self.sigma_layer(hidden)
            open_ = (raw >= LOG_SIGMA_MIN) & (raw <= LOG_SIGMA_MAX)
            return mu, np.clip(raw, LOG_SIGMA_MIN, LOG_SIGMA_MAX), open_
        log_sigma = self.sigma_row + np.zeros_like(mu)
        return mu, log_sigma, np.ones_like(mu, dtype=bool)

    @staticmethod
    def _log_prob(action: np.ndarray, mu: np.ndarray, log_sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-row log probability, and ``(action - mu) / sigma**2``."""
        inv_var = np.exp(-2 * log_sigma)
        diff = action - mu
        logp = (-(diff * diff) * inv_var / 2 - log_sigma - HALF_LOG_2PI).sum(axis=1)
        return logp, diff * inv_var

    def log_prob(self, feature: np.ndarray, action: np.ndarray) -> np.ndarray:
        mu, log_sigma, _ = self._distribution(feature, keep=False)
        return self._log_prob(action, mu, log_sigma)[0]

    def forward(self, feature: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu, log_sigma, open_ = self._distribution(feature, keep=True)
        logp, scaled = self._log_prob(action, mu, log_sigma)
        self._cache = (mu, open_, scaled, action - mu)
        return logp, (0.5 + HALF_LOG_2PI + log_sigma).sum(axis=1)

    def backward(self, d_logp: np.ndarray, d_entropy: np.ndarray) -> np.ndarray:
        mu, open_, scaled, diff = self._cache
        d_mu = d_logp[:, None] * scaled  # d logp / d mu = (a - mu) / sigma^2
        # d logp / d log sigma = (a - mu)^2 / sigma^2 - 1; d entropy / d log sigma = 1
        d_log_sigma = d_logp[:, None] * (scaled * diff - 1) + d_entropy[:, None]
        if self.tanh:
            d_mu = d_mu * (1 - mu * mu)
        d_hidden = self.mu_layer.backward(d_mu.astype(np.float32))
        if self.conditioned:
            d_hidden += self.sigma_layer.backward((d_log_sigma * open_).astype(np.float32))
        else:
            np.sum(d_log_sigma, axis=0, keepdims=True, out=self.sigma_row_grad)
        return self.main.backward(d_hidden)
