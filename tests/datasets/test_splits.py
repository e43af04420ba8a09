"""leave_one_domain_out and split_holdout."""

import pytest
import torch

from stylebias.datasets import ShapeTexture, leave_one_domain_out, split_holdout
from stylebias.errors import InvalidArgumentError


def test_leave_one_domain_out_holds_out_each_domain_once():
    splits = list(leave_one_domain_out(["art", "cartoon", "photo", "sketch"]))
    assert [test for _, test in splits] == ["art", "cartoon", "photo", "sketch"]
    assert splits[2] == (("art", "cartoon", "sketch"), "photo")
    for train, test in splits:
        assert test not in train and len(train) == 3


def test_leave_one_domain_out_reads_datasets_and_benchmark_classes():
    assert len(list(leave_one_domain_out(ShapeTexture))) == len(ShapeTexture.DOMAINS)
    ds = ShapeTexture("train", domains=("sketch", "photo"), n_per_class=1, cache="none")
    assert list(leave_one_domain_out(ds)) == [(("photo",), "sketch"), (("sketch",), "photo")]


@pytest.mark.parametrize(
    "arg, match",
    [(["photo"], "at least 2 domains"), (["a", "b", "a"], "unique"), ("photo", "single string"),
     (42, "expected a dataset")],
)
def test_leave_one_domain_out_errors(arg, match):
    with pytest.raises(InvalidArgumentError, match=match):
        list(leave_one_domain_out(arg))


def test_split_holdout_partitions_deterministically():
    keep, hold = split_holdout(50, 0.2, seed=3)
    assert len(hold) == 10 and len(keep) == 40
    assert torch.equal(torch.cat([keep, hold]).sort().values, torch.arange(50))
    assert torch.equal(keep, keep.sort().values)
    again = split_holdout(50, 0.2, seed=3)
    assert torch.equal(again[1], hold)
    assert not torch.equal(split_holdout(50, 0.2, seed=4)[1], hold)
    assert len(split_holdout(7, 0.0)[1]) == 0 and len(split_holdout(7, 1.0)[0]) == 0


@pytest.mark.parametrize("n, fraction", [(-1, 0.2), (10, 1.5), (2.5, 0.1)])
def test_split_holdout_errors(n, fraction):
    with pytest.raises(InvalidArgumentError):
        split_holdout(n, fraction)
