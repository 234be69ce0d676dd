"""Log probabilities and entropies for categorical and diagonal Gaussian policies.

Discrete actor output is a logits tensor (batch, n); continuous output is ``(mu, sigma)`` (batch, dim).
"""

from __future__ import annotations

import math
from typing import Any

import torch

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def action_log_prob_entropy(
    actor_out: Any, action: torch.Tensor, continuous: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row log probability of ``action`` and the distribution's entropy (summed over action dims)."""
    if continuous:
        mu, sigma = actor_out
        log_sigma = sigma.log()
        logp = (-((action - mu) ** 2) / (2 * sigma**2) - log_sigma - _LOG_SQRT_2PI).sum(-1)
        entropy = (0.5 + _LOG_SQRT_2PI + log_sigma).sum(-1)
        return logp, entropy
    log_probs = torch.log_softmax(actor_out, dim=-1)
    logp = log_probs.gather(-1, action.long().unsqueeze(-1)).squeeze(-1)
    entropy = -(log_probs.exp() * log_probs).sum(-1)
    return logp, entropy
