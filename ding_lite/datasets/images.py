"""PNG frames (image features) and mp4 frames (video features, with PyAV when installed).

Images in memory are uint8 (C, H, W); ``as_float`` gives float32 in [0, 1] as LeRobot's items do.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from ding_lite.datasets.format import DatasetError


def encode_png(frame: np.ndarray) -> bytes:
    """PNG bytes of a uint8 (C, H, W) or (H, W, C) frame with 3 channels."""
    from PIL import Image

    array = np.asarray(frame)
    if array.dtype != np.uint8:
        if array.dtype.kind == "f" and array.size and (array.min() < 0 or array.max() > 1):
            raise DatasetError(f"float image values must lie in [0, 1]; got [{array.min():.3g}, {array.max():.3g}]")
        array = np.round(array * 255).astype(np.uint8) if array.dtype.kind == "f" else array.astype(np.uint8)
    if array.ndim == 3 and array.shape[0] == 3 and array.shape[2] != 3:
        array = array.transpose(1, 2, 0)
    if array.ndim != 3 or array.shape[2] != 3:
        raise DatasetError(f"an image frame must have 3 channels, (3, H, W) or (H, W, 3); got {array.shape}")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def decode_png(blob: bytes, where: str = "an image") -> np.ndarray:
    """uint8 (C, H, W) from PNG (or any format Pillow reads) bytes."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(blob)) as image:
            array = np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError) as err:
        raise DatasetError(f"{where} is not a readable image ({err})") from None
    return np.ascontiguousarray(array.transpose(2, 0, 1))


def as_float(frames: np.ndarray) -> np.ndarray:
    return frames.astype(np.float32) / np.float32(255.0)


def _av() -> Any:
    try:
        import av
    except ImportError:
        raise DatasetError(
            "this dataset stores video features (mp4); reading them needs PyAV: pip install 'ding_lite[video]'"
        ) from None
    return av


def decode_video(path: Path, start_s: float, count: int, fps: int) -> np.ndarray:
    """``count`` frames of ``path`` from ``start_s`` seconds on, uint8 (count, C, H, W).

    Frames are matched by presentation time: the frame at ``start_s + i / fps`` for each i, within half a
    frame; a video without such a frame is an error naming the file.
    """
    av = _av()
    if not path.is_file():
        raise DatasetError(f"video file '{path}' is missing")
    wanted = start_s + np.arange(count) / fps
    frames: list[np.ndarray | None] = [None] * count
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        container.seek(max(0, int((start_s - 1.0) / stream.time_base)), stream=stream, backward=True)
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            time = float(frame.pts * stream.time_base)
            slot = round((time - start_s) * fps)
            if 0 <= slot < count and abs(time - wanted[slot]) < 0.5 / fps:
                frames[slot] = frame.to_ndarray(format="rgb24").transpose(2, 0, 1)
            if time > wanted[-1] + 0.5 / fps:
                break
    missing = [i for i, f in enumerate(frames) if f is None]
    if missing:
        raise DatasetError(f"'{path}' has no frame at {wanted[missing[0]]:.4f} s ({len(missing)} of {count} missing)")
    return np.stack([f for f in frames if f is not None])
