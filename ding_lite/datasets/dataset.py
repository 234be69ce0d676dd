"""``LeRobotDataset``: a local LeRobot dataset held in memory as arrays, with random access, episode
boundaries, time windows with padding masks, and batches.

    ds = LeRobotDataset("datasets/pendulum_expert")
    ds[0]                                    # dict of tensors; shape-(1,) features stay (1,); plus "task"
    ds.window(7, action=range(10))           # "action" (10, A) and "action_is_pad" (10,)
    ds.batch(np.array([3, 9]), windows={"action": range(10)})   # (2, ...), (2, 10, A), (2, 10)
    for indices in ds.sampler(64, seed=0): ...                  # an epoch of batches, resumable

Windows are frame offsets from the indexed frame (LeRobot's ``delta_timestamps`` times fps); frames past
either end of the episode repeat its first or last frame and are flagged in ``<key>_is_pad``. Images come
as float32 (C, H, W) in [0, 1] (LeRobot's convention) or uint8 with ``image_dtype='uint8'``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ding_lite.datasets.format import DatasetError, Feature
from ding_lite.datasets.images import as_float, decode_png, decode_video
from ding_lite.datasets.loading import Loaded, load
from ding_lite.datasets.sampler import BatchSampler

Offsets = Iterable[int]


class LeRobotDataset:
    def __init__(self, root: str | Path, episodes: Sequence[int] | None = None, image_dtype: str = "float32") -> None:
        if image_dtype not in ("float32", "uint8"):
            raise DatasetError(f"image_dtype is {image_dtype!r}; use 'float32' or 'uint8'")
        self.image_dtype = image_dtype
        self._data: Loaded = load(root)
        self._select(episodes)

    # --- what the dataset is -----------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        return self._data.root

    @property
    def info(self) -> dict[str, Any]:
        return self._data.info

    @property
    def fps(self) -> int:
        return int(self._data.info["fps"])

    @property
    def features(self) -> dict[str, Feature]:
        return self._data.features

    @property
    def stats(self) -> dict[str, Any] | None:
        return self._data.stats

    @property
    def tasks(self) -> list[str]:
        return self._data.tasks

    @property
    def num_episodes(self) -> int:
        return len(self.episode_index)

    def __len__(self) -> int:
        return len(self._rows)

    def arrays(self, name: str) -> np.ndarray:
        """The selected frames of a stored (non-video) feature, (frames, *shape); images as PNG bytes."""
        return self._data.columns[name][self._rows] if self._subset else self._data.columns[name]

    def episode_range(self, episode: int) -> tuple[int, int]:
        """[start, stop) of the ``episode``-th selected episode, in this dataset's indices."""
        return int(self.episode_start[episode]), int(self.episode_stop[episode])

    # --- items -------------------------------------------------------------------------------------------
    def __getitem__(self, i: int) -> dict[str, Any]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} is out of range for a dataset of {len(self)} frames")
        i = int(i) % len(self)
        row = int(self._rows[i])
        item: dict[str, Any] = {}
        for name, values in self._data.columns.items():
            feature = self._data.features[name]
            if feature.dtype == "image":
                item[name] = self._image(decode_png(values[row], f"frame {row} of '{name}'"))
            elif feature.dtype == "string":
                item[name] = values[row]
            else:
                item[name] = torch.from_numpy(values[row])
        for name in self._data.videos:
            item[name] = self._image(self._video_frames(name, np.array([i]))[0])
        item["task"] = self._task(row)
        return item

    def window(self, i: int, **offsets: Offsets) -> dict[str, torch.Tensor]:
        """``key`` (T, *shape) at the given frame offsets from frame ``i``, and ``key_is_pad`` (T,)."""
        batch = self.batch(np.array([i]), windows=offsets, keys=list(offsets))
        return {key: value[0] for key, value in batch.items()}

    def batch(
        self, indices: np.ndarray, windows: Mapping[str, Offsets] | None = None, keys: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Frames ``indices`` of the ``keys`` features (default: every stored feature), stacked; a key in
        ``windows`` gets a time axis after the batch axis and a ``<key>_is_pad`` mask."""
        indices = np.asarray(indices, dtype=np.int64)
        windows = dict(windows or {})
        names = list(keys) if keys is not None else [*self._data.columns, *self._data.videos]
        out: dict[str, torch.Tensor] = {}
        for name in names:
            if name not in self._data.features:
                raise DatasetError(f"'{name}' is not a feature of '{self.root}'; it has {', '.join(self.features)}")
            if name in windows:
                frames, pad = self._window_rows(indices, np.asarray(list(windows[name]), dtype=np.int64))
                out[name] = self._gather(name, frames)
                out[f"{name}_is_pad"] = torch.from_numpy(pad)
            else:
                out[name] = self._gather(name, indices)
        return out

    def sampler(self, batch_size: int, seed: int = 0, shuffle: bool = True, drop_last: bool = False) -> BatchSampler:
        """Batches of indices of this dataset, epoch by epoch, resumable (:mod:`ding_lite.datasets.sampler`)."""
        return BatchSampler(len(self), batch_size, seed=seed, shuffle=shuffle, drop_last=drop_last)

    # --- internals ---------------------------------------------------------------------------------------
    def _select(self, episodes: Sequence[int] | None) -> None:
        data = self._data
        positions = np.arange(len(data.episode_index))
        if episodes is not None:
            lookup = {int(e): p for p, e in enumerate(data.episode_index)}
            unknown = [e for e in episodes if int(e) not in lookup]
            if unknown:
                raise DatasetError(f"episodes {unknown} are not in '{data.root}' (it has {len(positions)} episodes)")
            positions = np.array([lookup[int(e)] for e in episodes], dtype=np.int64)
        lengths = data.episode_stop[positions] - data.episode_start[positions]
        self._subset = episodes is not None
        self._episode_positions = positions
        self.episode_index = data.episode_index[positions]
        self.episode_stop = np.cumsum(lengths)
        self.episode_start = self.episode_stop - lengths
        starts = data.episode_start[positions]
        self._rows = np.concatenate([np.arange(s, s + n) for s, n in zip(starts, lengths)]) if len(positions) else (
            np.zeros(0, dtype=np.int64)
        )  # fmt: skip
        self._frame_episode = np.repeat(np.arange(len(positions)), lengths)  # selected episode of each frame

    def _window_rows(self, indices: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        episode = self._frame_episode[indices]
        first, last = self.episode_start[episode, None], self.episode_stop[episode, None] - 1
        wanted = indices[:, None] + offsets[None, :]
        return np.clip(wanted, first, last), (wanted < first) | (wanted > last)

    def _gather(self, name: str, indices: np.ndarray) -> torch.Tensor:
        """Values of ``name`` at dataset indices of any shape: (*indices.shape, *feature_shape)."""
        feature = self._data.features[name]
        if feature.dtype == "video":
            frames = self._video_frames(name, indices.reshape(-1))
            return self._image(frames.reshape(*indices.shape, *frames.shape[1:]))
        values = self._data.columns[name][self._rows[indices]]
        if feature.dtype == "image":
            flat = values.reshape(-1)
            decoded = np.stack([decode_png(blob, f"a frame of '{name}'") for blob in flat])
            return self._image(decoded.reshape(*values.shape, *decoded.shape[1:]))
        if feature.dtype == "string":
            raise DatasetError(f"'{name}' is a string feature; read it with ds[i] or ds.arrays('{name}')")
        return torch.from_numpy(values)

    def _image(self, frames: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(frames if self.image_dtype == "uint8" else as_float(frames))

    def _video_frames(self, name: str, indices: np.ndarray) -> np.ndarray:
        out = []
        for i in indices:
            episode = int(self._frame_episode[i])
            span = self._data.videos[name][int(self._episode_positions[episode])]
            offset = int(i) - int(self.episode_start[episode])
            out.append(decode_video(span.path, span.from_timestamp + offset / self.fps, 1, self.fps)[0])
        return np.stack(out)

    def _task(self, row: int) -> str:
        if "task_index" not in self._data.columns:
            return ""
        task = int(self._data.columns["task_index"][row, 0])
        return self._data.tasks[task] if 0 <= task < len(self._data.tasks) else ""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(len(self)):
            yield self[i]
