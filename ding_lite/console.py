"""The ``ding`` / ``ding-lite`` console scripts: the CLI with the interpreter's fixed costs cut.

- Importing torch creates a few hundred thousand objects that live until the process ends; the garbage
  collector would scan them hundreds of times during the import and again in every full collection
  during training (about 0.1 s each on a small machine). Collection is off during the import, and the
  imported objects are then frozen out of later collections (``gc.freeze``).
- When ``main`` returns, the pipelines have closed their logs, event files and environments and every
  checkpoint is on disk; tearing down torch's objects would take more than half a second, so the
  process leaves with ``os._exit`` once the standard streams and logging handlers are flushed. An
  exception escaping ``main`` exits the normal way.

Library use (``from ding_lite.entry import serial_pipeline``) is not affected by any of this.
"""

from __future__ import annotations

import gc
import logging
import os
import sys


def console_main() -> None:
    gc.disable()
    try:
        from ding_lite.entry.cli import main
    finally:
        gc.enable()
    gc.freeze()
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
