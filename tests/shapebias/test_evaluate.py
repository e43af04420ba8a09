"""evaluate / compare / CLI on tiny generated stimuli with an oracle model (no downloads)."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image
from torch import nn

from stylebias.cli import main
from stylebias.errors import DataError, InvalidArgumentError, ModelOutputError
from stylebias.models import load_model
from stylebias.shapebias import compare, evaluate, find_stimuli, read_trials
from tests.shapebias.helpers import CUE_CONFLICT, RAW_PREPROCESS, Oracle, write_stimulus

EXPECTED = dict(shape=3, texture=2, n=6, shape_bias=0.6, accuracy=5 / 6,
                per_category={"cat": 0.5, "dog": 1.0, "knife": 0.0})


def _check(result):
    assert (result.shape, result.texture, result.n) == (3, 2, 6)
    assert result.shape_bias == pytest.approx(0.6)
    assert result.accuracy == pytest.approx(5 / 6)
    assert result.per_category == EXPECTED["per_category"]


def test_evaluate_module_by_hand(cue_conflict_dir):
    result = evaluate(Oracle(), cue_conflict_dir, preprocess=RAW_PREPROCESS, num_workers=0, batch_size=3)
    _check(result)
    assert result.source == "Oracle" and len(result.trials) == len(CUE_CONFLICT)
    by_name = {t.imagename: t.response for t in result.trials}
    assert by_name["cat2-cat1.png"] == "dog"  # decided, but left out of the metrics


def test_evaluate_spec_with_workers_and_formats(cue_conflict_dir, oracle_file):
    spec = f"{oracle_file}:build"
    a = evaluate(spec, cue_conflict_dir, preprocess=RAW_PREPROCESS, num_workers=1, batch_size=4)
    b = evaluate(load_model(spec, preprocess=RAW_PREPROCESS), cue_conflict_dir, num_workers=0,
                 channels_last=False, batch_size=64)
    _check(a)
    assert [t.response for t in a.trials] == [t.response for t in b.trials]
    assert a.source == spec


def test_default_geometry_resize_256_crop_224(cue_conflict_dir):
    seen = []

    class Spy(Oracle):
        def forward(self, x):
            seen.append(tuple(x.shape[1:]))
            return super().forward(x)

    # ImageNet resize/crop (the default); mean 0 / std 1 so the oracle reads raw colours.
    _check(evaluate(Spy(), cue_conflict_dir, preprocess={"mean": (0, 0, 0), "std": (1, 1, 1)}, num_workers=0))
    assert set(seen) == {(3, 224, 224)}


def test_silhouettes_accuracy(tmp_path):
    root = tmp_path / "sil"
    for rel, answer in [("cat/cat1.png", "cat"), ("cat/cat2.png", "dog"), ("oven/oven1.png", "oven")]:
        write_stimulus(root, rel, answer)
    r = evaluate(Oracle(), root, stimuli="silhouettes", preprocess=RAW_PREPROCESS, num_workers=0)
    assert (r.stimuli, r.shape, r.n, r.shape_bias) == ("silhouettes", 2, 3, None)
    assert r.per_category == {"cat": 0.5, "oven": 1.0}


def test_wrong_output_size(cue_conflict_dir, oracle_file):
    with pytest.raises(ModelOutputError, match=r"returned \(7, 10\) for a batch of 7.*1000-way ImageNet"):
        evaluate(f"{oracle_file}:build10", cue_conflict_dir, num_workers=0)

    class Broken(nn.Module):
        def forward(self, x):
            return x.flatten(1) @ torch.zeros(5, 1000)

    with pytest.raises(ModelOutputError, match="failed on the first batch"):
        evaluate(Broken(), cue_conflict_dir, num_workers=0)


def test_bad_stimuli_are_named(cue_conflict_dir, tmp_path):
    (cue_conflict_dir / "cat" / "cat9-dgo1.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"do not follow.*cat/cat9-dgo1.png"):
        find_stimuli(cue_conflict_dir)
    (cue_conflict_dir / "cat" / "cat9-dgo1.png").unlink()
    write_stimulus(cue_conflict_dir, "dog/cat5-dog1.png", "cat")  # shape != folder
    with pytest.raises(DataError, match="dog/cat5-dog1.png"):
        find_stimuli(cue_conflict_dir)
    (cue_conflict_dir / "dog" / "cat5-dog1.png").unlink()
    write_stimulus(cue_conflict_dir, "zebra/zebra1-cat1.png", "cat")
    with pytest.raises(DataError, match="not one of the 16 categories.*zebra/zebra1-cat1.png"):
        find_stimuli(cue_conflict_dir)
    (cue_conflict_dir / "zebra" / "zebra1-cat1.png").unlink()
    write_stimulus(cue_conflict_dir, "loose-cat1-dog1.png", "cat")
    with pytest.raises(DataError, match="not inside a category folder.*loose-cat1-dog1.png"):
        find_stimuli(cue_conflict_dir)
    (cue_conflict_dir / "loose-cat1-dog1.png").unlink()
    with pytest.raises(DataError, match="1280 published cue-conflict stimuli are missing.*airplane/airplane1-bicycle2.png"):
        find_stimuli(cue_conflict_dir, complete=True)
    assert len(find_stimuli(cue_conflict_dir)) == len(CUE_CONFLICT)
    with pytest.raises(DataError, match="does not exist"):
        find_stimuli(tmp_path / "nowhere")


def test_unreadable_stimulus_is_named(cue_conflict_dir):
    (cue_conflict_dir / "dog" / "dog3-cat2.png").write_text("not a png")
    with pytest.raises(DataError, match="dog3-cat2.png"):
        evaluate(Oracle(), cue_conflict_dir, preprocess=RAW_PREPROCESS, num_workers=0)


def test_missing_default_stimuli_without_download(tmp_path):
    from stylebias.errors import MissingFileError

    with pytest.raises(MissingFileError, match="stylebias download cue-conflict.*--stimuli DIR"):
        evaluate(Oracle(), None, cache_dir=tmp_path, download=False)


def test_compare_writes_model_csv(cue_conflict_dir, tmp_path):
    out = tmp_path / "out"
    [r] = compare([Oracle()], [], cue_conflict_dir, output_dir=out,
                  preprocess=RAW_PREPROCESS, num_workers=0)
    [csv_file] = out.glob("*.csv")
    assert csv_file.name == "cue-conflict_Oracle_session-1.csv"
    trials, subjects = read_trials(csv_file)
    assert subjects == ["Oracle"] and len(trials) == len(CUE_CONFLICT)
    csv_result = compare([], [csv_file])[0]
    assert csv_result.to_dict() == r.to_dict()
    with pytest.raises(InvalidArgumentError, match="at least one model"):
        compare([], [])


def test_cli_shape_bias_json_plot_and_csv(cue_conflict_dir, oracle_file, tmp_path, capsys):
    out = tmp_path / "run"
    spec = f"{oracle_file}:build"
    code = main(["shape-bias", "--model", spec, "--stimuli", str(cue_conflict_dir), "--resize", "none",
                 "--crop", "none", "--mean", "0", "0", "0", "--std", "1", "1", "1", "--workers", "0",
                 "--output", str(out), "--json", "--plot-file", str(tmp_path / "fig.png")])
    assert code == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["source"] == spec and row["shape_bias"] == pytest.approx(0.6) and row["n"] == 6
    assert set(row) >= {"source", "shape_bias", "shape", "texture", "n", "accuracy", "per_category"}
    with Image.open(tmp_path / "fig.png") as fig:
        assert fig.format == "PNG"
    [csv_file] = out.glob("cue-conflict_*.csv")
    assert json.loads((out / "results.json").read_text())[0]["shape"] == 3
    # The written CSV goes back in with --from-csv beside the model, as a PDF figure.
    code = main(["shape-bias", "--from-csv", str(csv_file), "--plot-file", str(tmp_path / "fig.pdf")])
    assert code == 0
    text = capsys.readouterr().out
    assert "0.600" in text and "per category" in text
    assert (tmp_path / "fig.pdf").read_bytes().startswith(b"%PDF")


def test_cli_errors_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("subj,category\nx,cat\n")
    assert main(["shape-bias", "--from-csv", str(bad)]) == 2
    assert "lacks the column(s) object_response, imagename" in capsys.readouterr().err
    assert main(["shape-bias"]) == 2
    assert "at least one model" in capsys.readouterr().err


def test_channels_last_and_batch_independent(cue_conflict_dir):
    a = evaluate(Oracle(), cue_conflict_dir, preprocess=RAW_PREPROCESS, num_workers=0, batch_size=1)
    b = evaluate(Oracle(), cue_conflict_dir, preprocess=RAW_PREPROCESS, num_workers=0, batch_size=7,
                 channels_last=False)
    assert a.to_dict() == {**b.to_dict(), "source": a.source}


def test_loaded_model_mean_std_override_is_applied(cue_conflict_dir, oracle_file):
    lm = load_model(f"{oracle_file}:build")  # ImageNet mean/std inside
    _check(evaluate(lm, cue_conflict_dir, preprocess=RAW_PREPROCESS, num_workers=0))


def test_published_folder_with_lost_files_is_reported(tmp_path, monkeypatch):
    import stylebias.shapebias.stimuli as stim

    class FakeSet:
        def files(self):
            return [(rel, None) for rel in ("cat/cat1-dog1.png", "cat/cat2-dog1.png", "dog/dog1-cat1.png")]

    monkeypatch.setattr(stim, "get_artifact_set", lambda name: FakeSet())
    root = tmp_path / "pub"
    write_stimulus(root, "cat/cat1-dog1.png", "cat")
    write_stimulus(root, "dog/dog1-cat1.png", "dog")
    with pytest.raises(DataError, match=r"1 of the 3 published cue-conflict stimuli are missing.*cat/cat2-dog1.png"):
        find_stimuli(root)  # 2 of 3 present: more than half, so it is the published set
    assert len(find_stimuli(root, complete=False)) == 2
    write_stimulus(tmp_path / "own", "cat/cat7-dog1.png", "cat")
    assert len(find_stimuli(tmp_path / "own")) == 1  # own stimuli: no completeness check


class SixteenWay(Oracle):
    """The oracle as a 16-way classifier whose outputs are the categories in CATEGORIES order."""

    def forward(self, x):
        red = x[:, 0].mean(dim=(1, 2)) * 255.0
        k = ((red - 8) / 16).round().clamp(0, 15).long()
        out = torch.zeros(x.shape[0], 16, device=x.device) * self.scale
        out[torch.arange(x.shape[0]), k] = 30.0
        return out


def test_a_16_way_classifier_in_category_order_gives_the_same_result(cue_conflict_dir):
    thousand = evaluate(Oracle(), cue_conflict_dir, preprocess=RAW_PREPROCESS, num_workers=0)
    sixteen = evaluate(SixteenWay(), cue_conflict_dir, preprocess=RAW_PREPROCESS, num_workers=0)
    assert (sixteen.shape_bias, sixteen.per_category, sixteen.n) == (thousand.shape_bias, thousand.per_category, thousand.n)
    assert [t.response for t in sixteen.trials] == [t.response for t in thousand.trials]
