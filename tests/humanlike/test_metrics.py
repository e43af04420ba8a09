"""Metrics by hand, invariants, alignment by image id, and the seeded bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stylebias.errors import DataError, InvalidArgumentError
from stylebias.humanlike import (
    DecisionTable,
    accuracy,
    accuracy_difference,
    bootstrap_ci,
    consistency,
    kappa,
    response_entropy,
    shape_bias,
)
from stylebias.humanlike.metrics import kappa_from_correct, observed_from_correct

CATS = ["cat", "dog", "car", "boat"]


def table(correct, subj="m", ids=None, condition="0"):
    """A table whose trial k is right iff correct[k]; images named img<k>.png (or ``ids``)."""
    n = len(correct)
    ids = ids or [f"img{k}.png" for k in range(n)]
    cats = [CATS[k % 4] for k in range(n)]
    resp = [c if ok else CATS[(CATS.index(c) + 1) % 4] for c, ok in zip(cats, correct)]
    return DecisionTable([subj] * n, [condition] * n, cats, resp, ids, "d")


def test_kappa_by_hand():
    assert kappa(1.0, 1.0) == 1.0 and kappa(1.0, 0.3) == 1.0      # c_obs = 1 gives 1
    assert kappa(0.5, 0.5) == 0.0                                     # chance agreement
    assert kappa(0.0, 0.5) == -1.0
    with pytest.raises(InvalidArgumentError, match=r"\[0, 1\]"):
        kappa(1.2, 0.5)


@pytest.mark.parametrize(
    "a, b, obs, exp, k",
    [
        # p1 = .75, p2 = .5: c_exp = .375 + .125 = .5; agree on 3 of 4 -> .75; kappa = .25 / .5
        ([1, 1, 1, 0], [1, 1, 0, 0], 0.75, 0.5, 0.5),
        # independent: p1 = p2 = .5, agree on half -> kappa 0
        ([1, 1, 0, 0], [1, 0, 1, 0], 0.5, 0.5, 0.0),
        # always opposite
        ([1, 0, 1, 0], [0, 1, 0, 1], 0.0, 0.5, -1.0),
        # both always right: c_exp = 1 and c_obs = 1 -> 1 (no division by zero)
        ([1, 1, 1], [1, 1, 1], 1.0, 1.0, 1.0),
        # p1 = 1, p2 = 2/3: c_exp = 2/3, c_obs = 2/3 -> 0
        ([1, 1, 1], [1, 0, 1], 2 / 3, 2 / 3, 0.0),
    ],
)
def test_consistency_by_hand(a, b, obs, exp, k):
    c = consistency(table([bool(x) for x in a], "m"), table([bool(x) for x in b], "h"))
    assert c.observed == pytest.approx(obs) and c.expected == pytest.approx(exp)
    assert c.error_consistency == pytest.approx(k, abs=1e-12) and c.n == len(a)


def test_kappa_symmetric_and_bounded():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 40))
        a, b = rng.random(n) < rng.random(), rng.random(n) < rng.random()
        kab, kba = kappa_from_correct(a, b), kappa_from_correct(b, a)
        assert kab == pytest.approx(kba, abs=1e-12)
        assert -1.0 - 1e-12 <= kab <= 1.0 + 1e-12
        assert observed_from_correct(a, b) == observed_from_correct(b, a)
    # vectorised over a leading axis equals the row-by-row values
    a, b = rng.random((5, 30)) < 0.6, rng.random((5, 30)) < 0.4
    rows = [kappa_from_correct(a[i], b[i]) for i in range(5)]
    np.testing.assert_allclose(kappa_from_correct(a, b), rows)


def test_trials_are_paired_by_image_id_not_by_order():
    a = table([True, True, False, False], "m")
    b = table([True, False, True, False], "h")
    flipped = b.take(np.array([3, 2, 1, 0]))
    assert consistency(a, flipped) == consistency(a, b)
    # an observer against a shuffled copy of itself: by position c_obs would be 0.5
    same = a.take(np.array([2, 0, 3, 1]))
    assert consistency(a, same).observed == 1.0


def test_different_images_are_refused_with_the_mismatch_named():
    a = table([True, False], "m", ids=["x.png", "y.png"])
    b = table([True, False], "subject-01", ids=["x.png", "z.png"])
    with pytest.raises(DataError, match=r"different images.*y\.png.*z\.png"):
        consistency(a, b)
    with pytest.raises(DataError, match="different images"):
        consistency(a, table([True], "h", ids=["x.png"]))
    twice = table([True, False], "m", ids=["x.png", "x.png"])
    with pytest.raises(DataError, match="more than once.*x.png"):
        consistency(twice, twice)
    with pytest.raises(DataError, match="no trials"):
        consistency(a.take(np.zeros(2, dtype=bool)), a)


def test_accuracy_and_squared_difference():
    a, b = table([True, True, True, False]), table([True, False, False, False])
    assert accuracy(a) == 0.75 and accuracy(b) == 0.25
    assert accuracy_difference(a, b) == pytest.approx(0.25)  # (0.75 - 0.25) ** 2, not 0.5
    assert accuracy_difference(b, a) == accuracy_difference(a, b)
    with pytest.raises(DataError, match="no trials"):
        accuracy(a.take(np.zeros(4, dtype=bool)))


def test_response_entropy_by_hand():
    # four true categories, responses spread evenly over them: 2 bits
    even = DecisionTable(["m"] * 4, ["0"] * 4, CATS, ["dog", "cat", "boat", "car"], [f"{k}.png" for k in range(4)])
    assert response_entropy(even) == pytest.approx(2.0)
    # all answers "cat": 0 bits; answers outside the true categories (and "na") are not counted
    one = DecisionTable(["m"] * 4, ["0"] * 4, CATS, ["cat", "cat", "bear", "na"], [f"{k}.png" for k in range(4)])
    assert response_entropy(one) == pytest.approx(-(0.5 * math.log2(0.5)))
    # mean over observers
    both = DecisionTable.concat([even, DecisionTable(["h"] * 4, ["0"] * 4, CATS, ["cat"] * 4, [f"{k}.png" for k in range(4)])])
    assert response_entropy(both) == pytest.approx(1.0)


def test_shape_bias_reads_texture_from_imagename():
    names = ["0001_s5n_s01_0_cat_00_cat1-dog2.png", "0002_s5n_s01_0_cat_00_cat2-dog1.png",
             "0003_s5n_s01_0_dog_00_dog1-dog2.png", "0004_s5n_s01_0_dog_00_dog2-car1.png"]
    t = DecisionTable(["s"] * 4, ["0"] * 4, ["cat", "cat", "dog", "dog"], ["cat", "dog", "dog", "boat"], names)
    r = shape_bias(t)
    assert (r.shape, r.texture, r.n) == (1, 1, 3) and r.shape_bias == 0.5


def test_bootstrap_ci_is_seeded_and_sensible():
    rng = np.random.default_rng(1)
    a, b = rng.random(300) < 0.7, rng.random(300) < 0.7

    def stat(idx):
        return kappa_from_correct(a[idx], b[idx])

    first = bootstrap_ci(stat, 300, n_boot=300, seed=3)
    assert first == bootstrap_ci(stat, 300, n_boot=300, seed=3)
    assert first != bootstrap_ci(stat, 300, n_boot=300, seed=4)
    low, high = first
    assert low < float(kappa_from_correct(a, b)) < high and high - low < 0.4
    # accuracy interval of 300 trials at ~.7: roughly +- 1.96 * sqrt(.21 / 300) = +- .052
    lo, hi = bootstrap_ci(lambda idx: a[idx].mean(axis=-1), 300, n_boot=2000, seed=0)
    assert 0.08 < hi - lo < 0.13
    with pytest.raises(InvalidArgumentError, match="level"):
        bootstrap_ci(stat, 300, level=95)
    with pytest.raises(InvalidArgumentError, match="n >= 1"):
        bootstrap_ci(stat, 0)
