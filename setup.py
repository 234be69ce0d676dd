"""Packaging: every package under ``ding_lite/`` and ``entry/`` is found, none listed by hand.

``entry/`` is installed as ``ding_lite.entry``. The version is read from ``ding_lite/__init__.py``, so
``ding --version``, ``ding_lite.__version__`` and the wheel's metadata say the same.
"""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent
VERSION = re.search(r'^__version__ = "([^"]+)"', (HERE / "ding_lite" / "__init__.py").read_text(), re.M)
assert VERSION is not None, "ding_lite/__init__.py must define __version__"
ENTRY_PACKAGES = ["ding_lite.entry", *(f"ding_lite.entry.{name}" for name in find_packages("entry"))]

setup(
    name="ding_lite",
    version=VERSION.group(1),
    description="A small DI-engine-style reinforcement-learning engine whose checkpoints you can trust",
    python_requires=">=3.10",
    packages=find_packages(include=["ding_lite", "ding_lite.*"]) + ENTRY_PACKAGES,
    package_dir={"ding_lite.entry": "entry"},
    install_requires=[
        "torch>=2.1",
        "numpy>=1.24",
        "easydict>=1.10",
        "tensorboardX>=2.6",
        "gymnasium>=0.29",
        "safetensors>=0.4",
        "pyarrow>=14",  # LeRobot-format datasets (Parquet)
        "pillow>=10",  # PNG image features
    ],
    extras_require={
        "dev": [
            "pytest>=7",
            "ruff>=0.5",
            "mypy>=1.8",
            "tensorboard>=2.14",
            "av>=12",
            "gymnasium[mujoco]>=0.29",
            "matplotlib>=3.7",
            "ray>=2.40",
        ],
        "video": ["av>=12"],  # reading mp4 video features of LeRobot datasets
        "plot": ["matplotlib>=3.7"],  # ding plot
        "mujoco": ["gymnasium[mujoco]>=0.29"],  # Gymnasium's MuJoCo envs (Reacher-v5)
        "ray": ["ray>=2.40"],  # policy.distributed.engine='ray': collectors as Ray actors (docs/ray.md)
    },
    entry_points={
        "console_scripts": ["ding=ding_lite.console:console_main", "ding-lite=ding_lite.console:console_main"]
    },
)
