from setuptools import setup

setup(
    name="ding_lite",
    version="0.1.0",
    description="A small DI-engine-style reinforcement-learning engine whose checkpoints you can trust",
    python_requires=">=3.10",
    packages=[
        "ding_lite",
        "ding_lite.checkpoint",
        "ding_lite.config",
        "ding_lite.data",
        "ding_lite.envs",
        "ding_lite.learner",
        "ding_lite.model",
        "ding_lite.policy",
        "ding_lite.utils",
        "ding_lite.worker",
        "ding_lite.entry",
    ],
    package_dir={"ding_lite.entry": "entry"},
    install_requires=[
        "torch>=2.1",
        "numpy>=1.24",
        "easydict>=1.10",
        "tensorboardX>=2.6",
        "gymnasium>=0.29",
        "safetensors>=0.4",
    ],
    extras_require={"dev": ["pytest>=7", "ruff>=0.5", "mypy>=1.8", "tensorboard>=2.14"]},
    entry_points={
        "console_scripts": ["ding=ding_lite.console:console_main", "ding-lite=ding_lite.console:console_main"]
    },
)
