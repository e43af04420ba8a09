"""Image-level training augmentations as batched torch functions with explicit randomness.

``augmix``: AugMix's operations, chains and mixing, and its Jensen-Shannon consistency loss;
``prime``: PRIME's spectral, spatial and colour primitives and their mixing;
``randconv``: random convolutions (RandConv) and their consistency loss.
"""

from .augmix import OPERATIONS, AugMixDraws, augment_and_mix, augment_and_mix_with, jensen_shannon, sample_augmix
from .prime import PRIMITIVES, PrimeDraws, PrimeSettings, augment_prime, sample_prime
from .randconv import KERNEL_SIZES, RandConv, RandConvParams, consistency_loss, randconv, randconv_with, sample_randconv

__all__ = [
    "OPERATIONS", "AugMixDraws", "augment_and_mix", "augment_and_mix_with", "jensen_shannon", "sample_augmix",
    "PRIMITIVES", "PrimeDraws", "PrimeSettings", "augment_prime", "sample_prime",
    "KERNEL_SIZES", "RandConv", "RandConvParams", "consistency_loss", "randconv", "randconv_with", "sample_randconv",
]
