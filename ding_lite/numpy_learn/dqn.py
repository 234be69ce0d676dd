"""DQN's update in NumPy for the built-in ``DQN`` model (dueling or plain head): double-Q targets from
the target network, mean squared TD error, Adam. Same loss and gradients as the torch path."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from ding_lite.model.common import DuelingHead
from ding_lite.model.numpy_infer import linears
from ding_lite.model.q_network import DQN
from ding_lite.numpy_learn.adam import NumpyAdam
from ding_lite.numpy_learn.dense import DenseChain
from ding_lite.numpy_learn.params import ParamSet


class QChains:
    """The Q network as NumPy chains: encoder, then the advantage and value streams or one Q stream."""

    def __init__(self, model: DQN, params: ParamSet | None) -> None:
        self.encoder = DenseChain(linears(model.encoder), params, relu_last=True)
        head = model.head
        self.dueling = isinstance(head, DuelingHead)
        if isinstance(head, DuelingHead):
            self.streams = [DenseChain(linears(head.A), params), DenseChain(linears(head.V), params)]
        else:
            self.streams = [DenseChain(linears(head), params)]

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Q values without keeping anything for a backward pass."""
        feature = self.encoder(obs)
        if not self.dueling:
            return self.streams[0](feature)
        advantage = self.streams[0](feature)
        return advantage - advantage.mean(axis=1, keepdims=True) + self.streams[1](feature)

    def forward(self, obs: np.ndarray) -> np.ndarray:
        feature = self.encoder.forward(obs)
        if not self.dueling:
            return self.streams[0].forward(feature)
        advantage = self.streams[0].forward(feature)
        return advantage - advantage.mean(axis=1, keepdims=True) + self.streams[1].forward(feature)

    def backward(self, d_q: np.ndarray) -> None:
        """Parameter gradients from d loss / d Q of the last ``forward``."""
        if self.dueling:
            d_advantage = d_q - d_q.mean(axis=1, keepdims=True)
            d_feature = self.streams[0].backward(d_advantage)
            d_feature += self.streams[1].backward(d_q.sum(axis=1, keepdims=True))
        else:
            d_feature = self.streams[0].backward(d_q)
        self.encoder.backward(d_feature, input_grad=False)


class NumpyDQN:
    def __init__(self, model: DQN, target_model: DQN, learning_rate: float, ignore_done: bool) -> None:
        self.params = ParamSet(list(model.parameters()))
        self.optimizer = NumpyAdam(self.params, lr=learning_rate)
        self.online = QChains(model, self.params)
        self.target = QChains(target_model, None)
        self.ignore_done = ignore_done

    def update(self, batch: Mapping[str, torch.Tensor]) -> dict[str, float]:
        obs, next_obs = batch["obs"].numpy(), batch["next_obs"].numpy()
        action = batch["action"].numpy().astype(np.int64)
        rows = np.arange(len(obs))
        next_action = self.online(next_obs).argmax(axis=1)
        target_q = self.target(next_obs)[rows, next_action]
        bootstrap = batch["gamma_n"].numpy() * target_q
        if not self.ignore_done:
            bootstrap = bootstrap * (1.0 - batch["done"].numpy().astype(np.float32))
        target = batch["reward"].numpy() + bootstrap
        q_all = self.online.forward(obs)
        q_value = q_all[rows, action]
        error = q_value - target
        loss = np.mean(error * error)
        d_q = np.zeros_like(q_all)
        d_q[rows, action] = (2.0 / len(obs)) * error
        self.online.backward(d_q)
        self.optimizer.step()
        return {
            "cur_lr": self.optimizer.param_groups[0]["lr"],
            "total_loss": float(loss),
            "q_value": float(q_value.mean()),
            "target_q_value": float(target_q.mean()),
        }
