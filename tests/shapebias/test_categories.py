"""The 16-class mapping against facts from texture-vs-shape / model-vs-human."""

from __future__ import annotations

import pytest
import torch

from stylebias.errors import ModelOutputError
from stylebias.shapebias import (
    CATEGORIES,
    aggregation_matrix,
    imagenet_indices,
    logits_to_decisions,
    probabilities_to_16,
)


def test_sixteen_sorted_categories():
    assert CATEGORIES == ("airplane", "bear", "bicycle", "bird", "boat", "bottle", "car", "cat",
                          "chair", "clock", "dog", "elephant", "keyboard", "knife", "oven", "truck")


def test_index_lists_are_disjoint_and_in_range():
    lists = imagenet_indices()
    flat = [i for idx in lists.values() for i in idx]
    assert len(flat) == len(set(flat)) == 207
    assert all(0 <= i < 1000 for i in flat)
    assert all(list(idx) == sorted(idx) for idx in lists.values())


def test_known_members_from_model_vs_human():
    lists = imagenet_indices()
    assert lists["knife"] == (499,)
    assert lists["bottle"] == (440, 720, 737, 898, 899, 901, 907)
    assert lists["airplane"] == (404,)
    assert lists["oven"] == (766,)
    assert lists["cat"] == (281, 282, 283, 284, 285, 286)
    assert lists["bear"] == (294, 295, 296, 297)
    assert lists["truck"] == (555, 569, 656, 675, 717, 734, 864, 867)
    assert len(lists["dog"]) == 109 and lists["dog"][0] == 152 and lists["dog"][-1] == 268
    assert 192 not in lists["dog"] and 204 not in lists["dog"]  # left out by Geirhos et al.
    assert len(lists["bird"]) == 49 and 8 in lists["bird"] and 9 not in lists["bird"]  # 9 = ostrich


def test_aggregation_is_mean_of_softmax_over_indices():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 1000, generator=g)
    probs = torch.softmax(logits, 1)
    got = probabilities_to_16(probs)
    for col, name in enumerate(CATEGORIES):
        want = probs[:, list(imagenet_indices()[name])].mean(dim=1)
        torch.testing.assert_close(got[:, col], want)
    assert aggregation_matrix().sum(0).allclose(torch.ones(16))


def test_mean_not_sum_decides():
    # 'dog' has the largest summed probability but 'knife' the largest mean: knife wins.
    logits = torch.full((1, 1000), -50.0)
    logits[0, list(imagenet_indices()["dog"])] = 0.0
    logits[0, 499] = 2.0  # knife: e^2 / Z vs dog: 109 / Z in total but 1 / Z on average
    assert logits_to_decisions(logits) == ["knife"]


def test_wrong_output_size_is_a_clear_error():
    with pytest.raises(ModelOutputError, match=r"returned \(2, 10\).*1000-way ImageNet"):
        logits_to_decisions(torch.zeros(2, 10))


def test_16_way_logits_decide_by_their_own_argmax_in_category_order():
    logits = torch.zeros(3, 16)
    logits[0, CATEGORIES.index("cat")] = 2.0
    logits[1, CATEGORIES.index("truck")] = 1.0
    logits[2, :] = 1.0  # a tie: the first category alphabetically, as for ImageNet logits
    assert logits_to_decisions(logits) == ["cat", "truck", CATEGORIES[0]]
    with pytest.raises(ModelOutputError, match=r"returned \(3, 15\).*16-way"):
        logits_to_decisions(torch.zeros(3, 15))
