"""ACT (Action Chunking with Transformers), compatible with LeRobot 0.4.4's ``pretrained_model/`` folders.

- :mod:`config`: ``ACTConfig`` and its config.json;
- :mod:`model`: the network, LeRobot's module tree and parameter names;
- :mod:`normalize`: the normaliser and un-normaliser, built from dataset stats or LeRobot's processor files;
- :mod:`pretrained`: reading and writing the folder;
- :mod:`policy`: ``ACTPolicy`` (inference queue, temporal ensembling, training loss).
"""

from ding_lite.act.config import ACTConfig, Feature
from ding_lite.act.normalize import Normalizer, StatsError
from ding_lite.act.policy import ACTInputError, ACTPolicy, TemporalEnsembler

__all__ = ["ACTConfig", "ACTInputError", "ACTPolicy", "Feature", "Normalizer", "StatsError", "TemporalEnsembler"]
