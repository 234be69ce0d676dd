"""Send a rank's training state (nested dicts, lists and tuples of tensors, NumPy arrays, numbers, strings and
None) to another rank as two uint8 tensors, and rebuild it there: nothing is pickled.

:func:`pack` turns a state into JSON text, which describes the structure and holds the scalars, and one byte
buffer holding every array's raw bytes back to back; the JSON names each array's kind (``tensor`` or
``ndarray``), dtype, shape and byte range. :func:`unpack` rebuilds the same structure with the same types
(tuples stay tuples, dict keys keep their scalar types, NumPy scalars stay NumPy scalars). Arrays of Python
objects, and any other type, are refused with a ``TypeError`` naming where they are: they are bugs in the
state, not data to guess at.

:func:`send_state` and :func:`recv_state` move one packed state between two ranks over the default process
group (point to point: the sizes first, then the bytes).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

SCALARS = (bool, int, float, str, type(None))


def pack(state: Any) -> tuple[bytes, bytes]:
    """``(structure as JSON text, raw array bytes)`` of ``state``."""
    blobs: list[bytes] = []
    offset = [0]

    def blob(raw: bytes) -> list[int]:
        start = offset[0]
        blobs.append(raw)
        offset[0] += len(raw)
        return [start, len(raw)]

    def encode(value: Any, where: str) -> Any:
        if isinstance(value, SCALARS) and not isinstance(value, np.generic):  # np.float64 is a float too
            return value
        if isinstance(value, torch.Tensor):
            data = value.detach().cpu().contiguous()
            raw = data.reshape(-1).view(torch.uint8).numpy().tobytes() if data.numel() else b""
            return {"tensor": [str(data.dtype).removeprefix("torch."), list(data.shape), *blob(raw)]}
        if isinstance(value, (np.ndarray, np.generic)):
            array = np.asarray(value)
            if array.dtype.hasobject:
                raise TypeError(f"{where}: a NumPy array of Python objects cannot be sent between ranks")
            kind = "ndarray" if isinstance(value, np.ndarray) else "npscalar"
            return {kind: [array.dtype.str, list(array.shape), *blob(array.tobytes())]}
        if isinstance(value, list):
            return [encode(item, f"{where}[{i}]") for i, item in enumerate(value)]
        if isinstance(value, tuple):
            return {"tuple": [encode(item, f"{where}[{i}]") for i, item in enumerate(value)]}
        if isinstance(value, dict):
            for key in value:
                if not isinstance(key, SCALARS):
                    raise TypeError(f"{where}: dict key {key!r} is not a number, string or None")
            return {"dict": [[key, encode(item, f"{where}[{key!r}]")] for key, item in value.items()]}
        raise TypeError(f"{where}: a {type(value).__name__} cannot be sent between ranks")

    structure = json.dumps(encode(state, "state"))
    return structure.encode(), b"".join(blobs)


def unpack(structure: bytes, data: bytes) -> Any:
    """The state :func:`pack` packed."""

    def decode(value: Any) -> Any:
        if isinstance(value, list):
            return [decode(item) for item in value]
        if not isinstance(value, dict):
            return value
        ((kind, body),) = value.items()
        if kind == "tuple":
            return tuple(decode(item) for item in body)
        if kind == "dict":
            return {key: decode(item) for key, item in body}
        dtype, shape, start, size = body
        raw = data[start : start + size]
        if kind == "tensor":
            torch_dtype = getattr(torch, dtype)
            flat = torch.frombuffer(bytearray(raw), dtype=torch.uint8) if raw else torch.zeros(0, dtype=torch.uint8)
            return flat.view(torch_dtype).reshape(shape).clone()
        array = np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape).copy()
        return array if kind == "ndarray" else array[()]

    return decode(json.loads(structure.decode()))


def send_state(state: Any, dst: int) -> None:
    """Send ``state`` to rank ``dst`` (which calls :func:`recv_state` with this rank as ``src``)."""
    structure, data = pack(state)
    dist.send(torch.tensor([len(structure), len(data)], dtype=torch.int64), dst)
    for payload in (structure, data):
        if payload:
            dist.send(torch.frombuffer(bytearray(payload), dtype=torch.uint8), dst)


def recv_state(src: int) -> Any:
    """The state rank ``src`` sends with :func:`send_state`."""
    sizes = torch.zeros(2, dtype=torch.int64)
    dist.recv(sizes, src)
    payloads = []
    for size in sizes.tolist():
        buffer = torch.zeros(int(size), dtype=torch.uint8)
        if size:
            dist.recv(buffer, src)
        payloads.append(buffer.numpy().tobytes())
    return unpack(payloads[0], payloads[1])
