import pytest
import torch
from torch.utils.data import TensorDataset

from stylebias.training import DataBundle
from tests.stylize.conftest import weight_files  # noqa: F401 - random AdaIN weights in the published layout

# methods whose defaults need files a user supplies (stylizer weights, style images): the tests
# that sweep every method skip them; their own modules train them with random-weight files
NEEDS_USER_FILES = frozenset({"debiased", "style_augment"})


def tiny_bundle(n=96, classes=3, size=12, seed=0):
    """Learnable toy data: the class sets the brightness of one colour channel."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    x = torch.rand(n, 3, size, size, generator=g) * 0.5
    x[torch.arange(n), y % 3] += 0.5
    return DataBundle(
        train=TensorDataset(x, y), num_classes=classes,
        val=TensorDataset(x[:24], y[:24]), tests={"held": TensorDataset(x[-24:], y[-24:])},
        cue_conflict=TensorDataset(x[:24], y[:24], (y[:24] + 1) % classes),
    )


@pytest.fixture
def bundle():
    return tiny_bundle()
