"""Interventions (``policy.intervention``): a controller takes over from the agent where a rule says so, its
actions are executed and learned from (HIL-SERL's human interventions, with a scripted or pretrained
controller in place of the person).

- :mod:`~ding_lite.intervention.controller`: the controller, from a pretrained policy, a
  ``'module:function'`` string or a Python callable;
- :mod:`~ding_lite.intervention.rules`: when it takes over (``action_distance``, ``state_bounds``,
  ``budget``);
- :mod:`~ding_lite.intervention.session`: :class:`Intervention`, both with the per-episode counters, as the
  collector and ``ding record`` use it.

Nothing is imported here: the rules stay importable without torch.
"""
