"""Experiment logs: one TensorBoard writer, text logs per worker, and a progress display.

Layout inside the experiment directory::

    log/serial/events.out.tfevents.*     TensorBoard (tensorboardX), DI-engine's tag names
    log/<worker>/<worker>_logger.txt     plain text, one line per report (learner, collector, evaluator)

tensorboardX is imported on first use, not at import time.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import IO, Any


class ExperimentLogger:
    """Writes scalars to TensorBoard and lines to per-worker text files under ``<exp_dir>/log``."""

    def __init__(self, exp_dir: str | Path, *, tensorboard: bool = True) -> None:
        self.log_dir = Path(exp_dir) / "log"
        self._use_tb = tensorboard
        self._writer: Any = None
        self._files: dict[str, IO[str]] = {}

    @property
    def writer(self) -> Any:
        if self._writer is None:
            from tensorboardX import SummaryWriter

            self._writer = SummaryWriter(logdir=str(self.log_dir / "serial"))
        return self._writer

    def scalar(self, tag: str, value: float, step: int) -> None:
        if self._use_tb:
            self.writer.add_scalar(tag, value, step)

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

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()
        if self._writer is not None:
            self._writer.close()
            self._writer = None


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
