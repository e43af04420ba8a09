"""mce(): hand-computed mCE / relative mCE, name-keyed input, and clear errors."""

from __future__ import annotations

import random

import pytest

from stylebias.corruptions import ALEXNET_CLEAN_ERROR, ALEXNET_ERRORS, BENCHMARK_CORRUPTIONS, mce
from stylebias.errors import DataError, InvalidArgumentError, UnknownNameError

# AlexNet's mean ImageNet-C errors as they circulate (AugMix's ALEXNET_ERR, same order as
# BENCHMARK_CORRUPTIONS): the built-in per-severity table must average to these.
ALEXNET_ERR = [0.886428, 0.894468, 0.922640, 0.819880, 0.826268, 0.785948, 0.798360,
               0.866816, 0.826572, 0.819324, 0.564592, 0.853204, 0.646056, 0.717840, 0.606500]


def test_builtin_alexnet_table_matches_the_published_means():
    for name, expected in zip(BENCHMARK_CORRUPTIONS, ALEXNET_ERR):
        assert sum(ALEXNET_ERRORS[name]) / 5 == pytest.approx(expected, abs=1e-6)


def test_hand_made_table():
    # a model with error 0.5 everywhere, clean error 0.2
    errors = {name: 0.5 for name in BENCHMARK_CORRUPTIONS}
    result = mce(errors, clean_error=0.2)
    expected_ce = [100 * 0.5 / e for e in ALEXNET_ERR]
    expected_rel = [100 * (0.5 - 0.2) / (e - ALEXNET_CLEAN_ERROR) for e in ALEXNET_ERR]
    assert result.mce == pytest.approx(sum(expected_ce) / 15)
    assert result.relative_mce == pytest.approx(sum(expected_rel) / 15)
    assert result.ce["brightness"] == pytest.approx(100 * 0.5 / 0.564592)
    assert result.mean_error == pytest.approx(50.0)
    assert result.clean_error == pytest.approx(20.0)


def test_alexnet_scores_100_and_half_errors_score_50():
    r = mce(ALEXNET_ERRORS, clean_error=ALEXNET_CLEAN_ERROR)
    assert r.mce == pytest.approx(100) and r.relative_mce == pytest.approx(100)
    half = {n: [e / 2 for e in v] for n, v in ALEXNET_ERRORS.items()}
    assert mce(half, clean_error=ALEXNET_CLEAN_ERROR / 2).relative_mce == pytest.approx(50)
    assert mce(half).relative_mce is None  # no clean error: no relative mCE


def test_order_and_key_spelling_do_not_matter_and_lists_are_averaged():
    errors = {n: [0.1 * (i % 7) + 0.05 * s for s in range(5)] for i, n in enumerate(BENCHMARK_CORRUPTIONS)}
    base = mce(errors, clean_error=0.1)
    items = list(errors.items())
    random.Random(0).shuffle(items)
    renamed = {("JPEG" if k == "jpeg_compression" else k.upper().replace("_", "-")): v for k, v in items}
    again = mce(renamed, clean_error=0.1)
    assert again.mce == pytest.approx(base.mce) and again.ce == pytest.approx(base.ce)
    means = {n: sum(v) / 5 for n, v in errors.items()}
    assert mce(means, clean_error=0.1).mce == pytest.approx(base.mce)


def test_extras_are_reported_but_not_averaged():
    errors = {n: 0.5 for n in BENCHMARK_CORRUPTIONS}
    with_extras = mce({**errors, "spatter": 0.9, "saturate": 0.1})
    assert with_extras.mce == pytest.approx(mce(errors).mce)
    assert with_extras.errors["spatter"] == pytest.approx(90.0)
    assert "spatter" not in with_extras.ce


def test_unnormalised_and_custom_baselines():
    errors = {n: 0.3 for n in BENCHMARK_CORRUPTIONS}
    plain = mce(errors, baseline=None)
    assert plain.mce is None and plain.mean_error == pytest.approx(30.0) and plain.baseline == "none"
    custom = mce(errors, clean_error=0.1, baseline={n: 0.6 for n in BENCHMARK_CORRUPTIONS},
                 baseline_clean_error=0.2)
    assert custom.mce == pytest.approx(50.0) and custom.relative_mce == pytest.approx(50.0)


def test_errors_are_clear():
    full = {n: 0.5 for n in BENCHMARK_CORRUPTIONS}
    with pytest.raises(DataError, match="missing: frost"):
        mce({k: v for k, v in full.items() if k != "frost"})
    with pytest.raises(InvalidArgumentError, match="not percent"):
        mce({**full, "fog": 55.0})
    with pytest.raises(DataError, match="5 per-severity"):
        mce({**full, "fog": [0.1, 0.2]})
    with pytest.raises(UnknownNameError, match="Did you mean 'fog'"):
        mce({**full, "fgo": 0.3})
    with pytest.raises(InvalidArgumentError, match="clean_error"):
        mce(full, clean_error=-0.1)
    with pytest.raises(UnknownNameError, match="mCE baseline"):
        mce(full, baseline="resnet")
