"""Off-policy collection in Ray actors, feeding the learner of ``ding -m serial`` (docs/ray.md).

One module per job:

- :mod:`~ding_lite.actors.config`: the ``policy.distributed`` defaults and checks (no Ray import);
- :mod:`~ding_lite.actors.weights`: weights as named NumPy arrays, and their publisher;
- :mod:`~ding_lite.actors.collect_actor`: the collector that runs inside a Ray actor;
- :mod:`~ding_lite.actors.pool`: the learner's side: one collect call in flight per actor, restarts, counters;
- :mod:`~ding_lite.actors.runtime`: joining a Ray cluster, or starting a local one.

Only ``config`` may be imported without Ray installed; the entry loop is ``ding_lite.entry.serial_entry_ray``.
"""
