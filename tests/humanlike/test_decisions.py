"""Decision tables: pandas-like condition typing, image ids, reading raw-data folders."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from stylebias.errors import DataError, InvalidArgumentError
from stylebias.humanlike import DecisionTable, infer_column, normalise_conditions, read_decisions, short_imagename


def one(values):
    return normalise_conditions([values])[0]


# Expected strings are what `pd.read_csv(...)` then `df.condition.astype(str)` prints (pandas 1.x).
@pytest.mark.parametrize(
    "cells, expected",
    [
        (["0.00", "0.03", "0.10", "0.90"], ["0.0", "0.03", "0.1", "0.9"]),  # float column
        (["1", "3", "15"], ["1", "3", "15"]),                            # int column
        (["01", "+5", "-0"], ["1", "5", "0"]),                           # ints as Python prints them
        (["1", "0.5", "3"], ["1.0", "0.5", "3.0"]),                      # int and float -> float
        (["inf", "3", "0.55"], ["inf", "3.0", "0.55"]),                  # "inf" parses as a float
        (["1e-5", "2E3", ".5", "5."], ["1e-05", "2000.0", "0.5", "5.0"]),
        (["true", "false", "TRUE", "False"], ["True", "False", "True", "False"]),
        (["0", "pow"], ["0", "pow"]),                                    # mixed -> strings as written
        (["0.00", "pow"], ["0.00", "pow"]),
        (["1-10-10", "128-10-10"], ["1-10-10", "128-10-10"]),
        (["NaN", "NaN"], ["nan", "nan"]),                                # all NA -> float NaN
        (["1", "NaN", ""], ["1.0", "nan", "nan"]),                       # int with NA -> float
        (["true", "NA"], ["True", "nan"]),                               # bool with NA -> object
        (["cr", "n/a", "bw"], ["cr", "nan", "bw"]),
        (["na", "0"], ["na", "0"]),                                      # "na" is not an NA string
    ],
)
def test_condition_column_typed_as_pandas(cells, expected):
    assert one(cells) == expected


@pytest.mark.parametrize(
    "files, expected",
    [
        ([["0", "0"], ["NaN"]], [["0.0", "0.0"], ["nan"]]),          # int + float file -> float
        ([["1", "3"], ["0.5"]], [["1.0", "3.0"], ["0.5"]]),
        ([["1", "3"], ["pow"]], [["1", "3"], ["pow"]]),              # int + object -> own values
        ([["0.50"], ["pow"]], [["0.5"], ["pow"]]),                   # float file keeps its floats
        ([["true"], ["1"]], [["True"], ["1"]]),                      # bool + int -> object
        ([["true"], ["false"]], [["True"], ["False"]]),
        ([["c100", "c05"], ["c05"]], [["c100", "c05"], ["c05"]]),
    ],
)
def test_concatenated_files_follow_pandas_concat(files, expected):
    assert normalise_conditions(files) == expected


def test_infer_column_kinds():
    assert infer_column(["1", "2"]) == ("int", [1, 2])
    assert infer_column(["0.5"])[0] == "float"
    assert infer_column(["true", "false"]) == ("bool", [True, False])
    assert infer_column(["x", "1"]) == ("object", ["x", "1"])


def test_short_imagename_as_model_vs_human():
    # the two checks model-vs-human runs at import (helper/plotting_helper.py)
    assert short_imagename("0000_cl_s01_bw_boat_40_n02951358_5952.JPEG") == "n02951358_5952.JPEG"
    assert short_imagename("airplane1-bicycle2.png") == "airplane1-bicycle2.png"
    assert short_imagename("0001_s5n_s01_0_bird_00_bird3-bird2.png") == "bird3-bird2.png"


def test_table_columns_selection_and_errors():
    t = DecisionTable(["a", "a", "b"], ["0", "1", "0"], ["cat", "dog", "cat"], ["cat", "cat", "cat"],
                      ["x_cat1.png", "x_dog1.png", "cat1.png"], "d")
    assert t.correct.tolist() == [True, False, True]
    assert t.image_id.tolist() == ["cat1.png", "dog1.png", "cat1.png"]
    assert t.subjects() == ["a", "b"] and t.conditions() == ["0", "1"]
    sub = t.where(subj="a", condition=["1"])
    assert len(sub) == 1 and sub.category.tolist() == ["dog"] and sub.dataset == "d"
    both = DecisionTable.concat([t, sub])
    assert len(both) == 4 and both.image_id[-1] == "dog1.png"
    with pytest.raises(InvalidArgumentError, match="differ in length"):
        DecisionTable(["a"], ["0", "1"], ["cat"], ["cat"], ["c.png"])


def _write(path, header, rows):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def test_read_folder_types_conditions_per_file_then_concatenates(tmp_path):
    folder = tmp_path / "high-pass"
    folder.mkdir()
    head = ["subj", "Session", "trial", "rt", "object_response", "category", "condition", "imagename"]
    # humans wrote "1" and "inf" (a float column); the model file has only ints -> "1.0" after concat
    _write(folder / "high-pass_subject-01_session_1.csv", head,
           [["subject-01", 1, 1, 0.8, "cat", "cat", "inf", "0001_hp_s01_inf_cat_10_n01_1.png"],
            ["subject-01", 1, 2, 0.9, "dog", "cat", "1", "0002_hp_s01_1_cat_10_n02_2.png"]])
    _write(folder / "high-pass_m_session-1.csv", [h.lower() for h in head],
           [["m", 1, 1, "NaN", "cat", "cat", "3", "0001_hp_dnn_3_cat_10_n03_3.png"]])
    (folder / "notes.txt").write_text("ignored")
    t = read_decisions(folder)
    assert t.dataset == "high-pass"
    assert t.subj.tolist() == ["m", "subject-01", "subject-01"]  # sorted file names
    assert t.condition.tolist() == ["3.0", "inf", "1.0"]
    assert t.image_id.tolist() == ["n03_3.png", "n01_1.png", "n02_2.png"]
    single = read_decisions(folder / "high-pass_m_session-1.csv")
    assert single.dataset == "high-pass" and single.condition.tolist() == ["3"]  # typed alone
    # files from two folders (pinned human data + a model run) read as one folder would be
    elsewhere = tmp_path / "run"
    elsewhere.mkdir()
    (folder / "high-pass_m_session-1.csv").rename(elsewhere / "high-pass_m_session-1.csv")
    listed = read_decisions([folder / "high-pass_subject-01_session_1.csv", elsewhere / "high-pass_m_session-1.csv"])
    assert listed.dataset == "high-pass" and listed.subj.tolist() == t.subj.tolist()
    assert listed.condition.tolist() == t.condition.tolist()
    (folder / "high-pass_m_session-1.csv").write_bytes((elsewhere / "high-pass_m_session-1.csv").read_bytes())
    with pytest.raises(DataError, match="same name in different folders: high-pass_m_session-1.csv"):
        read_decisions([folder / "high-pass_m_session-1.csv", elsewhere / "high-pass_m_session-1.csv"])


def test_read_errors_name_the_problem(tmp_path):
    with pytest.raises(DataError, match="no \\*.csv"):
        read_decisions(tmp_path)
    _write(tmp_path / "x_m_session-1.csv", ["subj", "object_response", "category", "imagename"], [["m", "a", "a", "a.png"]])
    with pytest.raises(DataError, match=r"lacks the column\(s\) condition"):
        read_decisions(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        read_decisions(tmp_path / "absent.csv")


def test_from_trials_bridges_shapebias_runs():
    from stylebias.shapebias import Trial

    t = DecisionTable.from_trials([Trial("cat1-dog2.png", "cat", "dog", "dog")], "resnet50", dataset="cue-conflict")
    assert (t.subj.tolist(), t.condition.tolist(), t.correct.tolist()) == (["resnet50"], ["nan"], [False])
    assert isinstance(t.response, np.ndarray)
