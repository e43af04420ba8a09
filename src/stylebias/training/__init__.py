"""Training with style augmentation: configs, methods, the loop, evaluation."""

from .config import TrainConfig, load_config
from .data import DataBundle
from .hparams import default_hparams, random_hparams
from .loop import TrainResult, train
from .run_state import RunState
from .methods import METHODS, Method, create_method
from . import randconv as _randconv  # registers "randconv"
from .nets import SmallResNet, small_resnet

__all__ = [
    "TrainConfig", "load_config", "DataBundle", "default_hparams", "random_hparams",
    "TrainResult", "RunState", "train", "METHODS", "Method", "create_method",
    "SmallResNet", "small_resnet",
]
