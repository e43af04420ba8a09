"""Image-level training augmentations: pure batched tensor functions with explicit generators."""

from .randconv import KERNEL_SIZES, RandConv, RandConvParams, consistency_loss, randconv, randconv_with, sample_randconv

__all__ = [
    "KERNEL_SIZES", "RandConv", "RandConvParams", "consistency_loss", "randconv", "randconv_with", "sample_randconv",
]
