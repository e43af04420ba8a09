"""A command that fails during start-up leaves nothing behind (issue 11): no empty output folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from stylebias.cli import main
from stylebias.cli._common import remove_if_empty

MISSING = "no-such-folder"


def _commands(tmp: Path, out: Path) -> dict[str, list[str]]:
    missing = str(tmp / MISSING)
    image = tmp / "image.png"
    return {
        "corrupt": ["corrupt", "--input-dir", missing, "--output-dir", str(out)],
        "stylize": ["stylize", "--content-dir", missing, "--style-dir", missing, "--output-dir", str(out),
                    "--no-progress"],
        "train-decoder": ["train-decoder", "--content-dir", missing, "--style-dir", missing, "--output-dir", str(out)],
        "train": ["train", "--data", f"folder:{missing}", "--output-dir", str(out), "--no-progress"],
        "train-default-folder": ["train", "--data", f"folder:{missing}", "--no-progress"],
        "demo": ["demo", "--methods", "no_such_method", "--output-dir", str(out), "--no-progress"],
        "robustness": ["robustness", "--model", "torchvision:resnet18", "--no-pretrained", "--data", missing,
                       "--output-dir", str(out), "--no-progress"],
        "shape-bias": ["shape-bias", "--model", "torchvision:resnet18", "--no-pretrained", "--stimuli", missing,
                       "--no-download", "--output-dir", str(out), "--no-progress"],
        "explain": ["explain", str(image), "--model", "torchvision:resnet18", "--no-pretrained",
                    "--output-dir", str(out)],
        "download": ["download", "no-such-artifact", "--cache-dir", str(out)],
    }


@pytest.mark.parametrize("command", ["corrupt", "stylize", "train-decoder", "train", "train-default-folder", "demo", "robustness",
                                     "shape-bias", "explain", "download"])
def test_a_bad_argument_leaves_no_output_folder(command, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    assert main(_commands(tmp_path, out)[command]) == 2
    assert "error" in capsys.readouterr().err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing else either (e.g. runs/)


def test_remove_if_empty_keeps_any_folder_holding_a_file(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    remove_if_empty(tmp_path / "a")
    assert not (tmp_path / "a").exists()
    (tmp_path / "c" / "d").mkdir(parents=True)
    (tmp_path / "c" / "d" / "result.json").write_text("{}")
    remove_if_empty(tmp_path / "c")
    assert (tmp_path / "c" / "d" / "result.json").is_file()
