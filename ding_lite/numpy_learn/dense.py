"""Forward and backward passes of chains of Linear layers with ReLU between them, in NumPy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, overload

import numpy as np
from torch import nn

from ding_lite.numpy_learn.params import ParamSet


class DenseChain:
    """``x -> relu(x @ W0.T + b0) -> ... -> x @ Wn.T + bn`` (ReLU after the last layer with ``relu_last``).

    ``forward`` keeps what ``backward`` needs; ``backward(grad_out)`` writes the weight and bias gradients
    into the owning :class:`ParamSet` (overwriting them) and returns the gradient of the input. Chains
    whose parameters no set owns (target networks) can run forward only.
    """

    def __init__(self, layers: Sequence[nn.Linear], params: ParamSet | None = None, relu_last: bool = False) -> None:
        self.weights = [layer.weight.detach().numpy() for layer in layers]
        self.biases = [layer.bias.detach().numpy() for layer in layers]
        self.relu = [True] * (len(layers) - 1) + [relu_last]
        self.weight_grads: list[np.ndarray] = []
        self.bias_grads: list[np.ndarray] = []
        self.trainable = params is not None
        if params is not None:
            self.weight_grads = [params.grad_of(layer.weight) for layer in layers]
            self.bias_grads = [params.grad_of(layer.bias) for layer in layers]
        self._inputs: list[np.ndarray] = []
        self._outputs: list[np.ndarray] = []

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Forward without keeping anything (no backward possible)."""
        for weight, bias, relu in zip(self.weights, self.biases, self.relu):
            x = x @ weight.T
            x += bias
            if relu:
                np.maximum(x, 0.0, out=x)
        return x

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._inputs, self._outputs = [], []
        for weight, bias, relu in zip(self.weights, self.biases, self.relu):
            self._inputs.append(x)
            x = x @ weight.T
            x += bias
            if relu:
                np.maximum(x, 0.0, out=x)
            self._outputs.append(x)
        return x

    @overload
    def backward(self, grad: np.ndarray, input_grad: Literal[True] = ..., param_grads: bool = ...) -> np.ndarray: ...

    @overload
    def backward(self, grad: np.ndarray, input_grad: Literal[False], param_grads: bool = ...) -> None: ...

    def backward(self, grad: np.ndarray, input_grad: bool = True, param_grads: bool = True) -> np.ndarray | None:
        """Back-propagate ``grad`` (d loss / d output) through the last ``forward``.

        ``param_grads=False`` only passes the gradient through (the parameters' gradients are left as they
        are); ``input_grad=False`` skips the gradient of the chain's input and returns None.
        """
        if param_grads and not self.trainable:
            raise RuntimeError("this chain's parameters belong to no ParamSet; use param_grads=False")
        last = len(self.weights) - 1
        for i in range(last, -1, -1):
            if self.relu[i]:
                grad = grad * (self._outputs[i] > 0)
            if param_grads:
                np.matmul(grad.T, self._inputs[i], out=self.weight_grads[i])
                np.sum(grad, axis=0, out=self.bias_grads[i])
            if i == 0 and not input_grad:
                return None
            grad = grad @ self.weights[i]
        return grad
