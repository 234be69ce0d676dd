"""Small RGB frames in pure NumPy (no display, no pygame, no OpenGL), and area resizing of foreign frames.

Frames are uint8 arrays of shape ``(3, H, W)``: channels first, as torch and LeRobot's policies expect.

:class:`Canvas` draws filled shapes with anti-aliased edges: a pixel takes ``clip(0.5 - d, 0, 1)`` of a
shape's colour, ``d`` being the signed distance in pixels from the pixel's centre to the shape's edge
(negative inside). So any visible change of a state changes the frame, however small, and the same state
always gives the same bytes (plain float64 arithmetic, nothing random). Coordinates are pixels: x to the
right, y downwards, ``(0, 0)`` the top-left corner of the top-left pixel.
"""

from __future__ import annotations

import functools
import math

import numpy as np

Color = tuple[int, int, int]
WHITE: Color = (255, 255, 255)
BLACK: Color = (0, 0, 0)


@functools.lru_cache(maxsize=16)
def _centres(size: int) -> np.ndarray:
    centres = np.arange(size, dtype=np.float64) + 0.5
    centres.flags.writeable = False
    return centres


class Canvas:
    """A ``size`` x ``size`` frame being drawn; shapes are painted in call order, later ones on top."""

    def __init__(self, size: int, background: Color = WHITE) -> None:
        self.size = size
        self._rgb = np.empty((3, size, size), dtype=np.float64)
        self._rgb[:] = np.asarray(background, dtype=np.float64)[:, None, None]

    def _window(self, x0: float, x1: float, y0: float, y1: float) -> tuple[slice, slice, np.ndarray, np.ndarray]:
        """Rows and columns that can touch the box ``[x0, x1] x [y0, y1]``, with their pixel centres."""
        c0, c1 = max(math.floor(x0) - 1, 0), min(math.ceil(x1) + 1, self.size)
        r0, r1 = max(math.floor(y0) - 1, 0), min(math.ceil(y1) + 1, self.size)
        cols, rows = slice(c0, max(c0, c1)), slice(r0, max(r0, r1))
        return rows, cols, _centres(self.size)[cols][None, :], _centres(self.size)[rows][:, None]

    def _paint(self, rows: slice, cols: slice, distance: np.ndarray, color: Color) -> None:
        coverage = np.clip(0.5 - distance, 0.0, 1.0)
        region = self._rgb[:, rows, cols]
        region += (np.asarray(color, dtype=np.float64)[:, None, None] - region) * coverage

    def box(self, cx: float, cy: float, half_width: float, half_height: float, color: Color) -> None:
        """An axis-aligned rectangle centred on ``(cx, cy)``."""
        rows, cols, xs, ys = self._window(cx - half_width, cx + half_width, cy - half_height, cy + half_height)
        distance = np.maximum(np.abs(xs - cx) - half_width, np.abs(ys - cy) - half_height)
        self._paint(rows, cols, distance, color)

    def disc(self, cx: float, cy: float, radius: float, color: Color) -> None:
        """A filled circle."""
        rows, cols, xs, ys = self._window(cx - radius, cx + radius, cy - radius, cy + radius)
        self._paint(rows, cols, np.hypot(xs - cx, ys - cy) - radius, color)

    def capsule(self, ax: float, ay: float, bx: float, by: float, radius: float, color: Color) -> None:
        """A thick segment from ``(ax, ay)`` to ``(bx, by)`` with round ends (every point within ``radius``)."""
        rows, cols, xs, ys = self._window(min(ax, bx) - radius, max(ax, bx) + radius,
                                          min(ay, by) - radius, max(ay, by) + radius)  # fmt: skip
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        t = np.clip(((xs - ax) * dx + (ys - ay) * dy) / length2, 0.0, 1.0) if length2 > 0 else 0.0
        self._paint(rows, cols, np.hypot(xs - ax - t * dx, ys - ay - t * dy) - radius, color)

    def to_uint8(self) -> np.ndarray:
        """The frame as uint8 ``(3, size, size)``, each value rounded to the nearest integer."""
        return np.rint(self._rgb).clip(0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=32)
def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)``: output cell i averages the input cells overlapping its span, weighted by overlap."""
    edges = np.arange(n_out + 1, dtype=np.float64) * (n_in / n_out)
    cells = np.arange(n_in, dtype=np.float64)[None, :]
    overlap = np.clip(np.minimum(edges[1:, None], cells + 1) - np.maximum(edges[:-1, None], cells), 0.0, None)
    weights = overlap / overlap.sum(axis=1, keepdims=True)
    weights.flags.writeable = False
    return weights


def resize_rgb(frame: np.ndarray, size: int) -> np.ndarray:
    """An ``(H, W, 3)`` or ``(H, W, 4)`` frame with values in [0, 255] (what Gymnasium's ``rgb_array``
    renders) as uint8 ``(3, size, size)`` by area averaging (each output pixel is the mean of the input
    area it covers; when enlarging, the input pixel it falls in, blended at the borders). Alpha is dropped."""
    array = np.asarray(frame)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"expected an RGB frame of shape (H, W, 3), got shape {array.shape}")
    rows, cols = _area_weights(array.shape[0], size), _area_weights(array.shape[1], size)
    rgb = np.moveaxis(array[:, :, :3].astype(np.float64), 2, 0)  # (3, H, W)
    out = rows @ rgb @ cols.T  # (3, size, size)
    return np.rint(out).clip(0, 255).astype(np.uint8)
