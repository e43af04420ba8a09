"""Results of random-weight models are labelled as such (issue 11)."""

from __future__ import annotations

import json

from stylebias.cli import main
from tests.shapebias.helpers import cue_conflict_dir, oracle_file  # noqa: F401 (fixtures)

RAW = ["--resize", "none", "--crop", "none", "--mean", "0", "0", "0", "--std", "1", "1", "1", "--workers", "0"]


def _shape_bias(stimuli, spec, out, *flags):
    return ["shape-bias", "--model", spec, "--stimuli", str(stimuli), *RAW, "--output-dir", str(out), "--json",
            "--no-progress", *flags]


def test_shape_bias_rows_say_whether_weights_were_pretrained(cue_conflict_dir, oracle_file, tmp_path, capsys):  # noqa: F811
    spec = f"{oracle_file}:build"
    assert main(_shape_bias(cue_conflict_dir, spec, tmp_path / "random", "--no-pretrained",
                            "--plot", str(tmp_path / "fig.png"))) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["pretrained"] is False and row["weights"] == "random weights"
    assert row["source"] == f"{spec} (random weights)"  # the name tables, plots and CSV files show
    [csv_file] = (tmp_path / "random").glob("*.csv")
    assert "random-weights" in csv_file.name
    assert json.loads((tmp_path / "random" / "results.json").read_text())[0]["pretrained"] is False
    # --from-csv rows were measured elsewhere: no label; the pretrained model's row says so
    assert main([*_shape_bias(cue_conflict_dir, spec, tmp_path / "trained"), "--from-csv", str(csv_file)]) == 0
    from_csv, model = json.loads(capsys.readouterr().out)
    assert "pretrained" not in from_csv
    assert model["pretrained"] is True and model["source"] == spec and "weights" not in model
