import json
import subprocess
import sys

import pytest

from stylebias import __version__
from stylebias.cli import main


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"stylebias {__version__}"
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out


@pytest.mark.parametrize("module", ["stylebias", "stylebias.cli"])
def test_module_entry_points_run(module):
    out = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, check=True)
    assert "usage: stylebias" in out.stdout


def test_list_layers_and_presets_as_json(capsys):
    assert main(["list", "layers", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["adversarial_style", "dsu", "efdmix", "mixstyle", "padain"]
    assert main(["list", "presets", "--pattern", "res*"]) == 0
    assert capsys.readouterr().out.startswith("resnet")


def test_demo_showcase_writes_results_for_every_layer(tmp_path, capsys):
    assert main(["demo", "--showcase", "--quick", "--output", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "showcase.json").read_text())
    rows = {r["layer"]: r for r in report["layers"]}
    assert sorted(rows) == ["adversarial_style", "dsu", "efdmix", "mixstyle", "padain"]
    for row in rows.values():
        assert row["finite"] and row["identity_in_eval"]
        assert row["mean_abs_change"] > 0.05  # every layer changed the styled batch
    assert "wrote" in capsys.readouterr().out


def test_library_errors_become_one_line_messages(capsys, monkeypatch):
    import stylebias.cli.demo as demo
    from stylebias.errors import DataError

    def boom(**kwargs):
        raise DataError("folder /nope has no images")

    monkeypatch.setattr(demo, "showcase_layers", boom)
    assert main(["demo", "--showcase"]) == 2
    assert capsys.readouterr().err.strip() == "stylebias demo: error: folder /nope has no images"


@pytest.mark.parametrize("command", [
    ["shape-bias", "--stimuli", "{imgs}", "--model", "{model}"],
    ["explain", "{imgs}/a/x.png", "--model", "{model}"],
    ["robustness", "--model", "{model}", "--data", "{imgs}"],
    ["retrieval", "--model", "{model}", "--query", "{imgs}", "--gallery", "{imgs}"],
    ["corrupt", "--input-dir", "{imgs}", "--output-dir", "{out}"],
    ["stylize", "--content-dir", "{imgs}", "--style-dir", "{imgs}", "--output-dir", "{out}"],
    ["train-decoder", "--content-dir", "{imgs}", "--style-dir", "{imgs}", "--output-dir", "{out}"],
    ["train", "--steps", "1", "--output-dir", "{out}"],
])
def test_a_device_the_machine_lacks_is_a_clean_error_before_any_work(command, tmp_path, capsys):
    """``--device cuda:7`` on a machine without it: one line naming the device, no traceback,
    no download attempted, nothing written."""
    import torch
    from PIL import Image

    if torch.cuda.is_available() and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    (tmp_path / "imgs" / "a").mkdir(parents=True)
    Image.new("RGB", (40, 40), (200, 10, 10)).save(tmp_path / "imgs" / "a" / "x.png")
    (tmp_path / "m.py").write_text(
        "import torch\n\ndef build():\n"
        "    return torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(3, 1000))\n"
    )
    args = [a.format(imgs=tmp_path / "imgs", model=f"{tmp_path / 'm.py'}:build", out=tmp_path / "out") for a in command]
    assert main([*args, "--device", "cuda:7"]) == 2
    err = capsys.readouterr().err
    assert "cuda:7" in err and "Traceback" not in err and "download" not in err
    assert not (tmp_path / "out").exists()
