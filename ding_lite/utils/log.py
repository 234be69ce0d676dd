"""Experiment logs: one TensorBoard writer, text logs per worker, and a progress display.

Layout inside the experiment directory::

    log/serial/events.out.tfevents.*     TensorBoard (tensorboardX), DI-engine's tag names
    log/<worker>/<worker>_logger.txt     plain text, one line per report (learner, collector, evaluator)

tensorboardX is imported on first use, not at import time.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("ding_lite")


class ExperimentLogger:
    """Writes scalars to TensorBoard and lines to per-worker text files under ``<exp_dir>/log``."""

    def __init__(self, exp_dir: str | Path, *, tensorboard: bool = True) -> None:
        self.log_dir = Path(exp_dir) / "log"
        self._use_tb = tensorboard
        self._writer: Any = None
        self._files: dict[str, IO[str]] = {}
        self._restored_bytes: dict[str, int] = {}  # text-log positions of a resumed checkpoint
        self.scalar_count = 0  # scalar events handed to the writer; a checkpoint records it

    @property
    def writer(self) -> Any:
        if self._writer is None:
            self._writer = ScalarWriter(self.log_dir / "serial")
        return self._writer

    def scalar(self, tag: str, value: float, step: int) -> None:
        if self._use_tb:
            self.writer.add_scalar(tag, value, step)
            self.scalar_count += 1

    def text(self, worker: str, message: str) -> None:
        handle = self._files.get(worker)
        if handle is None:
            folder = self.log_dir / worker
            folder.mkdir(parents=True, exist_ok=True)
            handle = open(folder / f"{worker}_logger.txt", "a", encoding="utf-8")  # noqa: SIM115 - kept open
            self._files[worker] = handle
        handle.write(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {message}\n")

    def flush(self) -> None:
        for handle in self._files.values():
            handle.flush()
        if self._writer is not None:
            self._writer.flush()

    def state_dict(self) -> dict[str, Any]:
        """How much of each log belongs to the present moment (flushed first, so it is all on disk).

        A log not written since a resume keeps the position the resumed checkpoint gave it, so a second
        resume can still cut it back.
        """
        self.flush()
        sizes = dict(self._restored_bytes)
        sizes.update({worker: handle.tell() for worker, handle in self._files.items()})
        return {"scalar_events": self.scalar_count, "text_bytes": dict(sorted(sizes.items()))}

    def restore(self, state: dict[str, Any]) -> None:
        """Cut the logs back to a checkpoint's moment: later TensorBoard events and text lines go."""
        from ding_lite.utils.tb_events import truncate_scalar_events

        self.close()
        sizes = state.get("text_bytes", {})
        self._restored_bytes = {str(worker): int(size) for worker, size in sizes.items()}
        for path in self.log_dir.glob("*/*_logger.txt"):
            worker = path.parent.name
            keep = int(sizes.get(worker, 0))
            if path.stat().st_size > keep:
                with open(path, "r+b") as handle:
                    handle.truncate(keep)
        wanted = int(state.get("scalar_events", 0))
        found = truncate_scalar_events(self.log_dir / "serial", wanted)
        if found < wanted:
            log.warning("TensorBoard log has %d of the %d scalar events the checkpoint expects", found, wanted)
        self.scalar_count = wanted

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class ScalarWriter:
    """A synchronous TensorBoard scalar writer (tensorboardX's event file format and protobufs).

    tensorboardX's SummaryWriter hands events to a background thread, so its ``flush()`` cannot promise
    that every event logged so far is in the file; a checkpoint records how many scalar events belong to
    it, so this writer writes each event in the calling thread and ``flush()`` puts them all in the file.
    """

    def __init__(self, log_dir: Path) -> None:
        from tensorboardX.event_file_writer import EventsWriter
        from tensorboardX.proto import event_pb2, summary_pb2

        self._event_pb2, self._summary_pb2 = event_pb2, summary_pb2
        log_dir.mkdir(parents=True, exist_ok=True)
        # a unique, time-ordered suffix: a resumed run never overwrites the file it continues
        self._events = EventsWriter(str(log_dir / "events"), filename_suffix=f".{time.time_ns()}")

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        value_pb = self._summary_pb2.Summary.Value(tag=tag, simple_value=float(value))
        summary = self._summary_pb2.Summary(value=[value_pb])
        self._events.write_event(self._event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary))

    def flush(self) -> None:
        self._events.flush()

    def close(self) -> None:
        self._events.close()


class Progress:
    """A live status line on a terminal; plain periodic lines when output is a file or a pipe.

    ``update`` is cheap to call every loop iteration: it redraws at most 5 times a second on a terminal
    and prints at most every ``interval_s`` seconds otherwise. ``event`` prints a whole line (eval results).
    """

    def __init__(
        self, label: str, stream: IO[str] | None = None, interval_s: float = 10.0, quiet: bool = False
    ) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stdout
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval_s = interval_s if not self.live else 0.2
        self.quiet = quiet
        self._last_draw = 0.0
        self._line_open = False
        self._started = time.perf_counter()
        self._last_step = 0
        self._last_time = self._started
        self.steps_per_s = 0.0

    def update(self, train_iter: int, env_step: int, last_eval: float | None, best_eval: float | None) -> None:
        now = time.perf_counter()
        if self.quiet or now - self._last_draw < self.interval_s:
            return
        if now > self._last_time:
            self.steps_per_s = (env_step - self._last_step) / (now - self._last_time)
        self._last_step, self._last_time, self._last_draw = env_step, now, now
        line = (
            f"{self.label} | train_iter {train_iter} | env_step {env_step} | eval last {_fmt(last_eval)} "
            f"best {_fmt(best_eval)} | {self.steps_per_s:,.0f} env steps/s | {now - self._started:.1f}s"
        )
        if self.live:
            self.stream.write("\r\033[K" + line)
            self._line_open = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def event(self, message: str) -> None:
        if self.quiet:
            return
        if self._line_open:
            self.stream.write("\r\033[K")
            self._line_open = False
        self.stream.write(message + "\n")
        self.stream.flush()
        self._last_draw = 0.0

    def close(self) -> None:
        if self._line_open and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()
        self._line_open = False


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
