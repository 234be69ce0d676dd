"""ding_lite: a small DI-engine-style reinforcement-learning engine whose checkpoints you can trust.

Importing the package is cheap: torch, tensorboardX and gymnasium are imported by the modules that need
them, not here.
"""

__version__ = "0.1.0"
