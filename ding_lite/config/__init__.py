"""Config files, defaults, strict validation and the experiment directory."""

from ding_lite.config.compile import compile_config
from ding_lite.config.loader import read_config

__all__ = ["compile_config", "read_config"]
