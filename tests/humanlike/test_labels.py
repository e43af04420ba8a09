"""Label mappings: 16-class decisions of any head, and errors that say how to fix them."""

from __future__ import annotations

import json

import pytest
import torch

from stylebias.errors import DataError, InvalidArgumentError, ModelOutputError
from stylebias.humanlike import check_label_mapping, decision_function, read_label_mapping
from stylebias.shapebias import CATEGORIES, logits_to_decisions


def test_mapping_decision_by_hand():
    decide = decision_function(4, {"dog": [0, 2], "cat": [1], "truck": [3]})
    logits = torch.log(torch.tensor([[0.1, 0.5, 0.1, 0.3],    # cat 0.5 > truck 0.3 > dog mean 0.1
                                     [0.4, 0.05, 0.4, 0.15],  # dog mean 0.4
                                     [0.3, 0.2, 0.2, 0.3]]))  # dog 0.25 < truck 0.3
    assert decide(logits) == ["cat", "dog", "truck"]


def test_unmapped_categories_are_never_answered():
    decide = decision_function(2, {"oven": [1]})
    assert decide(torch.tensor([[9.0, -9.0], [0.0, 0.0]])) == ["oven", "oven"]


def test_known_heads_need_no_mapping_and_a_mapping_wins():
    logits = torch.randn(5, 1000, generator=torch.Generator().manual_seed(0))
    assert decision_function(1000)(logits) == logits_to_decisions(logits)
    sixteen = torch.randn(5, 16, generator=torch.Generator().manual_seed(1))
    assert decision_function(16)(sixteen) == [CATEGORIES[i] for i in sixteen.argmax(1).tolist()]
    assert set(decision_function(1000, {"bear": [7]})(logits)) == {"bear"}


def test_a_head_that_fits_nothing_names_the_fix():
    with pytest.raises(ModelOutputError, match=r"outputs 7 values.*--label-map FILE"):
        decision_function(7)
    with pytest.raises(ModelOutputError, match=r"dog: \[9\].*indices 0-6.*fix the mapping"):
        decision_function(7, {"dog": [1, 9]})


@pytest.mark.parametrize(("mapping", "message"), [
    ({"dgo": [1]}, "unknown category 'dgo' \\(did you mean 'dog'\\?\\)"),
    ({"dog": []}, "'dog' maps to \\[\\]; each category needs a non-empty list"),
    ({"dog": [1.5]}, "integers >= 0"),
    ({"dog": [-1]}, "integers >= 0"),
    ({"dog": [True]}, "integers >= 0"),
    ({"dog": [1], "cat": [1]}, "output 1 is mapped to both 'cat' and 'dog'"),
    ([["dog", 1]], "JSON object of category -> output indices"),
    ({}, "JSON object"),
])
def test_malformed_mappings_are_refused(mapping, message):
    with pytest.raises(InvalidArgumentError, match=message):
        check_label_mapping(mapping)


def test_mapping_files(tmp_path):
    good = tmp_path / "map.json"
    good.write_text(json.dumps({"truck": [3, 3, 1], "airplane": [0]}))
    assert read_label_mapping(good) == {"airplane": (0,), "truck": (3, 1)}
    with pytest.raises(DataError, match="missing.json.*does not exist"):
        read_label_mapping(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{dog: 1}")
    with pytest.raises(DataError, match="bad.json.*not valid JSON"):
        read_label_mapping(tmp_path / "bad.json")
    (tmp_path / "cat.json").write_text('{"kat": [1]}')
    with pytest.raises(DataError, match="cat.json: unknown category 'kat'"):
        read_label_mapping(tmp_path / "cat.json")
