"""Which Ray a run uses, and who shuts it down.

In order: the Ray this process is already connected to (a notebook, a test, a user's own ``ray.init``),
left running at the end; else the cluster at ``address`` (``'auto'``: the one ``ray start --head`` runs on
this machine; ``RAY_ADDRESS`` when no address is given), disconnected from at the end; else a local Ray
started here without a dashboard, with one logical CPU per core (at least one per actor, each actor asks
for one), shut down at the end.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

log = logging.getLogger("ding_lite")


@contextlib.contextmanager
def ray_session(address: str | None, n_actors: int) -> Iterator[None]:
    """Ray for the duration of one run (module docstring)."""
    import ray

    if ray.is_initialized():
        if address:
            log.warning("Ray is already initialised in this process; the address %s is not used", address)
        yield
        return
    if address or os.environ.get("RAY_ADDRESS"):
        ray.init(address=address or None, logging_level=logging.WARNING)
    else:
        num_cpus = max(os.cpu_count() or 1, int(n_actors))
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, logging_level=logging.WARNING)
    try:
        yield
    finally:
        ray.shutdown()
