"""Graceful stop on SIGTERM (preemption) and SIGINT (Ctrl-C).

The first signal only sets a flag; the training loop checks it between train iterations, writes a
checkpoint and stops. A second Ctrl-C raises KeyboardInterrupt at once.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any


class StopRequest:
    def __init__(self) -> None:
        self.signal_name: str | None = None
        self.signal_number = 0
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals can only be handled in the main thread; embedding code keeps its own
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            return
        self.signal_name = signal.Signals(signum).name
        self.signal_number = signum
        again = " (Ctrl-C again to exit at once)" if signum == signal.SIGINT else ""
        # one write: processes of a torchrun job share stderr, and print() writes the newline separately
        what = "finishing this train iteration and writing a checkpoint"
        sys.stderr.write(f"\n{self.signal_name} received: {what}{again}\n")
        sys.stderr.flush()
