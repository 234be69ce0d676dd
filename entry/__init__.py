"""Entry points: ``serial_pipeline`` (off-policy), ``serial_pipeline_onpolicy``, ``eval_pipeline``,
``serial_pipeline_bc`` (offline, on a dataset; imported on first use: it needs pyarrow), and the CLI.

Installed as the subpackage ``ding_lite.entry``.
"""

from typing import Any

from ding_lite.entry.eval_entry import eval_pipeline
from ding_lite.entry.serial_entry import serial_pipeline
from ding_lite.entry.serial_entry_onpolicy import serial_pipeline_onpolicy

__all__ = ["eval_pipeline", "serial_pipeline", "serial_pipeline_bc", "serial_pipeline_onpolicy"]


def __getattr__(name: str) -> Any:
    if name == "serial_pipeline_bc":
        from ding_lite.entry.serial_entry_bc import serial_pipeline_bc

        return serial_pipeline_bc
    raise AttributeError(f"module 'ding_lite.entry' has no attribute '{name}'")
