"""Rewards from a learned success classifier (LeRobot's "reward_classifier", HIL-SERL style).

``classifier``: the model and its ``pretrained_model/`` folder; ``labels``: success flags of dataset frames
and their pairing with the next observation; ``wrapper``: the env wrapper that ``env.reward_classifier``
applies. The policy that trains the model is :mod:`ding_lite.policy.reward_classifier` (``ding -m bc``).
Guide: ``docs/reward_classifier.md``.
"""
