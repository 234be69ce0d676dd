"""Workers that interact with envs: the sample collector and the evaluator."""

from ding_lite.worker.collector import SampleCollector
from ding_lite.worker.evaluator import InteractionEvaluator

__all__ = ["InteractionEvaluator", "SampleCollector"]
