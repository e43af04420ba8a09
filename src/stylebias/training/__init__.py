"""Training with style augmentation: configs, methods, the loop, evaluation."""

from .config import TrainConfig, load_config
from .data import DataBundle
from .hparams import default_hparams, random_hparams
from .loop import TrainResult, train
from .run_state import RunState
from .methods import METHODS, Method, create_method
from . import distill as _distill  # noqa: F401  (registers robust_distill)
from . import augmix as _augmix  # noqa: F401  (registers "augmix")
from . import prime as _prime  # noqa: F401  (registers "prime")
from . import debiased, style_augment  # noqa: F401,E402 - registers the stylizing methods
from . import randconv as _randconv  # registers "randconv"
from .nets import SmallResNet, small_resnet

__all__ = [
    "TrainConfig", "load_config", "DataBundle", "default_hparams", "random_hparams",
    "TrainResult", "RunState", "train", "METHODS", "Method", "create_method",
    "SmallResNet", "small_resnet",
]
