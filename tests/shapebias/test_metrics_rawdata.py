"""Shape bias / accuracy by hand, and the model-vs-human raw-data CSV format."""

from __future__ import annotations

import csv

import pytest

from stylebias.errors import DataError
from stylebias.shapebias import (
    COLUMNS,
    Trial,
    accuracy,
    raw_csv_name,
    read_trials,
    result_from_csv,
    shape_bias,
    write_trials,
)
from stylebias.shapebias.stimuli import parse_cue_conflict_name, texture_from_imagename

T = Trial


def test_shape_bias_by_hand():
    trials = [
        T("cat1-dog1.png", "cat", "cat", "dog"),        # shape
        T("cat2-dog1.png", "cat", "dog", "dog"),        # texture
        T("cat3-cat1.png", "cat", "cat", "cat"),        # no conflict: excluded
        T("dog1-cat1.png", "dog", "dog", "cat"),        # shape
        T("dog2-knife1.png", "dog", "boat", "knife"),   # neither
        T("knife1-oven1.png", "knife", "oven", "oven"),  # texture
    ]
    r = shape_bias(trials, "m")
    assert (r.shape, r.texture, r.n) == (2, 2, 5)
    assert r.shape_bias == 0.5 and r.accuracy == pytest.approx(4 / 5)
    assert r.per_category == {"cat": 0.5, "dog": 1.0, "knife": 0.0}
    d = r.to_dict()
    assert list(d)[:7] == ["source", "stimuli", "shape_bias", "shape", "texture", "n", "accuracy"]
    assert d["per_category"]["dog"] == 1.0


def test_shape_bias_undefined_cases():
    r = shape_bias([T("a1-b1.png", "cat", "boat", "dog")])
    assert r.shape_bias is None and r.per_category == {"cat": None} and r.accuracy == 0.0
    with pytest.raises(DataError, match="no cue-conflict"):
        shape_bias([T("cat1-cat2.png", "cat", "cat", "cat")])


def test_accuracy_by_hand():
    r = accuracy([T("cat1.png", "cat", "cat"), T("cat2.png", "cat", "dog"), T("dog1.png", "dog", "dog")])
    assert (r.shape, r.n, r.shape_bias, r.texture) == (2, 3, None, None)
    assert r.accuracy == pytest.approx(2 / 3) and r.per_category == {"cat": 0.5, "dog": 1.0}


def test_name_parsing_follows_model_vs_human():
    assert parse_cue_conflict_name("airplane10-bicycle2.png") == ("airplane", "bicycle")
    assert parse_cue_conflict_name("airplane.png") is None
    assert texture_from_imagename("0002_s5n_s01_0_bird_00_bird2-clock3.png") == "clock"
    assert texture_from_imagename("cat2-elephant1.png") == "elephant"


HUMAN_ROWS = [
    ["subject-01", 1, 1, 1.13, "bird", "bird", 0, "0001_s5n_s01_0_bird_00_bird3-bird2.png"],
    ["subject-01", 1, 2, 0.87, "clock", "bird", 0, "0002_s5n_s01_0_bird_00_bird2-clock3.png"],
    ["subject-01", 1, 3, 0.97, "dog", "dog", 0, "0003_s5n_s01_0_dog_00_dog10-bicycle1.png"],
    ["subject-01", 1, 4, 0.97, "na", "truck", 0, "0004_s5n_s01_0_truck_00_truck6-boat2.png"],
    ["subject-01", 1, 5, 0.90, "truck", "truck", 0, "0005_s5n_s01_0_truck_00_truck1-cat1.png"],
]


def _write(path, header, rows):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_result_from_human_csv(tmp_path):
    path = _write(tmp_path / "cue-conflict_subject-01_session_1.csv", COLUMNS, HUMAN_ROWS)
    r = result_from_csv(path)
    # conflict trials: 2 (texture), 3 (shape), 4 ('na'), 5 (shape) -> 2 shape, 1 texture, n = 4
    assert (r.source, r.observer, r.stimuli) == ("subject-01", "human", "cue-conflict")
    assert (r.shape, r.texture, r.n) == (2, 1, 4)
    assert r.shape_bias == pytest.approx(2 / 3) and r.accuracy == pytest.approx(3 / 4)
    assert r.per_category == {"bird": 0.0, "dog": 1.0, "truck": 1.0}


def test_silhouette_csv_gives_accuracy_named_by_file(tmp_path):
    rows = [["resnet50", 1, 1, "NaN", "boat", "boat", "NaN", "boat5.png"],
            ["resnet50", 1, 2, "NaN", "airplane", "car", "NaN", "car6.png"]]
    r = result_from_csv(_write(tmp_path / "silhouette_resnet50_session-1.csv", COLUMNS, rows))
    assert (r.stimuli, r.observer, r.accuracy, r.shape_bias) == ("silhouettes", "model", 0.5, None)


def test_missing_columns_and_bad_files(tmp_path):
    bad = _write(tmp_path / "bad.csv", ["subj", "trial", "category"], [["a", 1, "cat"]])
    with pytest.raises(DataError, match=r"lacks the column\(s\) object_response, imagename.*subj,session"):
        result_from_csv(bad)
    with pytest.raises(DataError, match="does not exist"):
        result_from_csv(tmp_path / "absent.csv")
    empty = _write(tmp_path / "empty.csv", COLUMNS, [])
    with pytest.raises(DataError, match="no trials"):
        read_trials(empty)
    mixed = _write(tmp_path / "mixed.csv", COLUMNS, [HUMAN_ROWS[1], ["s", 1, 2, 0, "cat", "cat", 0, "cat1.png"]])
    with pytest.raises(DataError, match="cat1.png"):
        result_from_csv(mixed, "cue-conflict")


def test_write_then_read_round_trip(tmp_path):
    trials = [T("cat1-dog1.png", "cat", "dog", "dog"), T("dog1-cat1.png", "dog", "dog", "cat")]
    name = raw_csv_name("cue-conflict", "torchvision:resnet_50")
    assert name == "cue-conflict_torchvision-resnet-50_session-1.csv"
    path = write_trials(trials, tmp_path / name, "torchvision:resnet_50")
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert lines[1] == "torchvision:resnet_50,1,1,NaN,dog,cat,NaN,cat1-dog1.png"
    back, subjects = read_trials(path)
    assert back == trials and subjects == ["torchvision:resnet_50"]
    assert result_from_csv(path).shape_bias == 0.5
