"""LeRobot-format datasets: read (v3.0 and v2.x), write (v3.0, durable per episode), statistics.

``format`` holds every file name, column and feature rule; ``loading`` reads a root into arrays;
``dataset.LeRobotDataset`` gives items, windows and batches; ``writer.DatasetWriter`` records episodes.
"""

from ding_lite.datasets.dataset import LeRobotDataset
from ding_lite.datasets.format import DatasetError, Feature

__all__ = ["DatasetError", "Feature", "LeRobotDataset"]
