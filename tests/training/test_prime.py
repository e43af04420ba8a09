"""PRIME training: its settings from hparams and its effect; the mechanics shared with AugMix
(one forward, resume, DDP, CLI, style-layer composition) are parametrised in test_augmix.py."""

import pytest
import torch

from stylebias.augment.prime import PrimeSettings, augment_prime
from stylebias.errors import InvalidArgumentError, UnknownNameError
from stylebias.training import default_hparams
from stylebias.training.identity import resolve_hparams
from tests.training.test_augmix import built, consistency_effect


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_defaults_are_the_reference_cifar_config_and_reach_the_primitives():
    hp = default_hparams("prime")
    assert (hp["diffeo_cut_max"], hp["color_cut"], hp["color_temperature"], hp["filter_sigma"]) == (100, 100, 0.01, 4.0)
    assert (hp["width"], hp["depth"], hp["jsd"], hp["jsd_weight"]) == (3, -1, True, 12.0)
    method = built("prime", {"filter_sigma": 2.0, "color_bandwidth": 20})
    assert method.settings == PrimeSettings(filter_sigma=2.0, color_bandwidth=20)


def test_bad_prime_hyperparameters_are_clear_errors():
    with pytest.raises(InvalidArgumentError, match="prime hparams: filter_size must be an odd integer"):
        built("prime", {"filter_size": 2})
    with pytest.raises(InvalidArgumentError, match="prime hparams: diffeo_cut_max must be an integer"):
        built("prime", {"diffeo_cut_max": 10.5})
    with pytest.raises(InvalidArgumentError, match="did you mean 'filter_sigma'"):
        resolve_hparams("prime", {"filter_sigmaa": 1.0})
    with pytest.raises(UnknownNameError):
        resolve_hparams("primee", {})


def test_the_consistency_term_lowers_the_jsd_on_the_builtin_benchmark(tmp_path):
    jsd = consistency_effect(tmp_path, "prime", lambda x, g: augment_prime(x, generator=g), steps=24, batch_size=16)
    assert jsd[12.0] < 0.5 * jsd[0.0], jsd  # seeds 0-2 measured: ratio 0.12-0.20
