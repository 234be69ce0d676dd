"""Entry points: ``serial_pipeline`` (off-policy), ``serial_pipeline_onpolicy``, ``eval_pipeline``, and the CLI.

Installed as the subpackage ``ding_lite.entry``.
"""

from ding_lite.entry.eval_entry import eval_pipeline
from ding_lite.entry.serial_entry import serial_pipeline
from ding_lite.entry.serial_entry_onpolicy import serial_pipeline_onpolicy

__all__ = ["eval_pipeline", "serial_pipeline", "serial_pipeline_onpolicy"]
