"""Errors meant for users. The CLI prints ``str(err)`` as one line and exits non-zero; tracebacks are for bugs."""

from __future__ import annotations


class DingLiteError(Exception):
    """Base class of every error caused by user input (a config, a path, a checkpoint)."""


class ConfigError(DingLiteError, ValueError):
    """A config file or config key is wrong; the message names the file or the dotted key."""


class CheckpointError(DingLiteError, ValueError):
    """A checkpoint cannot be used; the message names the file and what does not fit."""


class TrainingInterrupted(DingLiteError):
    """A run stopped on SIGTERM or SIGINT after writing a checkpoint it can resume from."""

    def __init__(self, signal_name: str, signal_number: int, checkpoint: str, train_iter: int) -> None:
        super().__init__(f"stopped by {signal_name} at train_iter {train_iter}; checkpoint written to '{checkpoint}'")
        self.signal_name = signal_name
        self.signal_number = signal_number
        self.checkpoint = checkpoint


class EnvWorkerError(DingLiteError, RuntimeError):
    """An env in a worker process kept failing (``env.manager.max_retry`` times in a row), or failed where it
    cannot be replaced (saving or loading its state); the message names the env and its last error."""
