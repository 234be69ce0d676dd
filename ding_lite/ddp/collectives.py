"""The few collectives the pipelines need beside DDP's gradient all-reduce, on the default process group.

Each is called by every rank at the same point of the same loop; none pickles anything (a value broadcast
from rank 0 travels as JSON text in a uint8 tensor).
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.distributed as dist

from ding_lite.ddp.world import LEAD_RANK
from ding_lite.utils.signals import StopRequest


def all_reduce_max(value: int) -> int:
    """The largest ``value`` any rank passed."""
    tensor = torch.tensor([value], dtype=torch.int64)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return int(tensor.item())


def all_reduce_sum(values: Sequence[float]) -> list[float]:
    """Element-wise sums over the ranks, in float64 (every rank gets the same numbers)."""
    tensor = torch.tensor(list(values), dtype=torch.float64)
    dist.all_reduce(tensor)
    return [float(v) for v in tensor.tolist()]


def broadcast_json(value: Any) -> Any:
    """Rank 0's ``value`` (JSON-able; ignored on the other ranks) on every rank."""
    payload = json.dumps(value).encode() if dist.get_rank() == LEAD_RANK else b""
    size = torch.tensor([len(payload)], dtype=torch.int64)
    dist.broadcast(size, LEAD_RANK)
    data = torch.zeros(int(size.item()), dtype=torch.uint8)
    if payload:
        data.copy_(torch.frombuffer(bytearray(payload), dtype=torch.uint8))
    dist.broadcast(data, LEAD_RANK)
    return json.loads(data.numpy().tobytes().decode())


def lead_decides(decide: Callable[[], Any]) -> Any:
    """``decide()`` run by rank 0 alone; its JSON-able result on every rank."""
    return broadcast_json(decide() if dist.get_rank() == LEAD_RANK else None)


def agree_on_stop(request: StopRequest) -> None:
    """Make a stop signal received by any rank a stop request on every rank, so they all stop after the same
    train iteration (torchrun forwards SIGTERM to each process, but not at the same instant)."""
    number = all_reduce_max(request.signal_number)
    if number and not request.requested:
        request.signal_name, request.signal_number = signal.Signals(number).name, number
