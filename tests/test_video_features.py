"""Video features (dtype 'video': frames in mp4 files, several episodes concatenated per file, located by
the episodes metadata's ``videos/<key>/from_timestamp``) decode with PyAV to the frames that were encoded,
at the right episode and time; without PyAV, reading one is a one-sentence error naming the extra."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import av  # a dev dependency (the 'video' extra for users)
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ding_lite.datasets import DatasetError, LeRobotDataset
from ding_lite.datasets.writer import DatasetWriter

KEY = "observation.video"
SIZE = 16
FPS = 10
LENGTHS = (6, 9, 5)


def frame_for(index: int) -> np.ndarray:
    """A smooth (3, H, W) uint8 frame that identifies its global index: codecs keep flat colours."""
    base = np.array([(index * 37) % 200 + 20, (index * 53) % 200 + 20, (index * 11) % 200 + 20], dtype=np.uint8)
    return np.broadcast_to(base[:, None, None], (3, SIZE, SIZE)).copy()


def write_video_dataset(root: Path) -> None:
    writer = DatasetWriter.create(root, fps=FPS, features={"action": {"dtype": "float32", "shape": [1], "names": None}})
    for length in LENGTHS:
        writer.save_episode_arrays({"action": np.zeros((length, 1), np.float32)}, "watch")
    info = json.loads((root / "meta/info.json").read_text())
    info["features"][KEY] = {"dtype": "video", "shape": [SIZE, SIZE, 3], "names": ["height", "width", "channels"]}
    info["video_path"] = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    (root / "meta/info.json").write_text(json.dumps(info))
    path = root / "videos" / KEY / "chunk-000" / "file-000.mp4"
    path.parent.mkdir(parents=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS, options={"qp": "0"})
        stream.width = stream.height = SIZE
        stream.pix_fmt = "yuv444p"
        for index in range(sum(LENGTHS)):
            image = av.VideoFrame.from_ndarray(frame_for(index).transpose(1, 2, 0).copy(), format="rgb24")
            container.mux(stream.encode(image))
        container.mux(stream.encode())
    episodes_path = next((root / "meta/episodes").glob("*/*.parquet"))
    table = pq.read_table(episodes_path)
    starts = np.cumsum((0, *LENGTHS[:-1])) / FPS
    for name, values in (
        ("chunk_index", pa.array([0] * len(LENGTHS))),
        ("file_index", pa.array([0] * len(LENGTHS))),
        ("from_timestamp", pa.array(starts)),
        ("to_timestamp", pa.array(starts + np.array(LENGTHS) / FPS)),
    ):
        table = table.append_column(f"videos/{KEY}/{name}", values)
    pq.write_table(table, episodes_path)


@pytest.fixture(scope="module")
def video_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("video") / "ds"
    write_video_dataset(root)
    return root


def test_video_frames_decode_at_their_episode_and_time(video_root: Path) -> None:
    ds = LeRobotDataset(video_root, image_dtype="uint8")
    assert len(ds) == sum(LENGTHS)
    # yuv444p at qp 0 is lossless in YUV; converting RGB -> YUV -> RGB rounds by at most a few levels
    for index in (0, 5, 6, 10, 14, 15, len(ds) - 1):
        decoded = ds[index][KEY].numpy().astype(int)
        assert decoded.shape == (3, SIZE, SIZE)
        assert np.abs(decoded - frame_for(index)).max() <= 3, index


def test_video_windows_pad_at_episode_ends_and_floats_are_scaled(video_root: Path) -> None:
    ds = LeRobotDataset(video_root)
    window = ds.window(12, **{KEY: range(-1, 4)})  # episode 1 is frames 6..14
    assert window[f"{KEY}_is_pad"].tolist() == [False, False, False, False, True]
    frames = window[KEY].numpy()
    assert frames.shape == (5, 3, SIZE, SIZE) and frames.dtype == np.float32
    expected = np.stack([frame_for(i) for i in (11, 12, 13, 14, 14)]) / 255.0
    assert np.abs(frames - expected).max() <= 3 / 255


def test_reading_video_without_pyav_names_the_extra(video_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` now raises ImportError
    ds = LeRobotDataset(video_root)
    with pytest.raises(DatasetError, match=r"needs PyAV: pip install 'ding_lite\[video\]'"):
        ds[0]
