"""Feature values <-> Parquet columns, in the column types LeRobot 0.4.4 writes.

- shape (1,), numeric or bool: a scalar column; in memory (frames, 1), so shape-(1,) features stay (1,);
- shape (D,): a ``fixed_size_list<D>`` column; in memory (frames, D);
- dtype ``image``: a struct ``{bytes: PNG file, path: name}`` column; in memory an object array of PNG
  bytes, decoded on access (:mod:`ding_lite.datasets.images`);
- dtype ``string``: a string column.

Columns stay in arrays: nothing here loops over frames except PNG encoding.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa

from ding_lite.datasets.format import DatasetError, Feature, numpy_dtype
from ding_lite.datasets.images import encode_png


def to_arrow(feature: Feature, values: np.ndarray, episode_index: int = 0) -> pa.Array:
    """The column of ``values`` (frames, *shape) for one episode."""
    if feature.dtype == "image":
        names = [f"frame-{i:06d}.png" for i in range(len(values))]
        blobs = [encode_png(frame) for frame in values]
        return pa.StructArray.from_arrays(
            [pa.array(blobs, pa.binary()), pa.array(names, pa.string())], ["bytes", "path"]
        )
    if feature.dtype == "string":
        return pa.array([str(v) for v in values.reshape(-1)], pa.string())
    if len(feature.shape) != 1:
        raise DatasetError(f"feature '{feature.name}' has shape {list(feature.shape)}; only (D,) and images are stored")
    flat = np.ascontiguousarray(values, dtype=numpy_dtype(feature)).reshape(len(values), -1)
    if feature.shape == (1,):
        return pa.array(flat[:, 0])
    return pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), feature.shape[0])


def from_arrow(feature: Feature, column: pa.ChunkedArray | pa.Array, where: str) -> np.ndarray:
    """In-memory values of a whole column: (frames, *shape), images as PNG bytes (frames,)."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if feature.dtype == "image":
        if not pa.types.is_struct(array.type):
            raise DatasetError(f"{where}: image column '{feature.name}' is {array.type}, not a struct of PNG bytes")
        return np.asarray(array.field("bytes").to_numpy(zero_copy_only=False), dtype=object)
    if feature.dtype == "string":
        return np.asarray(array.to_pylist(), dtype=object)
    dtype = numpy_dtype(feature)
    if pa.types.is_list(array.type) or pa.types.is_fixed_size_list(array.type) or pa.types.is_large_list(array.type):
        flat = array.flatten().to_numpy(zero_copy_only=False)
    else:
        flat = array.to_numpy(zero_copy_only=False)
    size = int(np.prod(feature.shape))
    if flat.size != len(array) * size:
        raise DatasetError(
            f"{where}: column '{feature.name}' holds {flat.size} values for {len(array)} frames; "
            f"info.json says shape {list(feature.shape)}"
        )
    return flat.astype(dtype).reshape(len(array), *feature.shape)  # a writable copy: items become tensors


def huggingface_metadata(features: dict[str, Feature]) -> bytes:
    """The ``huggingface`` schema metadata that LeRobot's data files carry (Hugging Face ``datasets``
    feature types), so files written here read like LeRobot's own."""
    entries: dict[str, Any] = {}
    for name, feature in features.items():
        if feature.dtype == "video":
            continue
        if feature.dtype == "image":
            entries[name] = {"_type": "Image"}
        elif feature.shape == (1,) or feature.dtype == "string":
            entries[name] = {"dtype": feature.dtype, "_type": "Value"}
        else:
            value = {"dtype": feature.dtype, "_type": "Value"}
            entries[name] = {"feature": value, "length": feature.shape[0], "_type": "List"}
    return json.dumps({"info": {"features": entries}}).encode()
