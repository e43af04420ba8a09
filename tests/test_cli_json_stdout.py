"""``--json``: stdout holds the JSON alone, whatever user code, libraries or C code print."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import stylebias
from stylebias.cli._common import json_stdout_only, print_json
from tests.shapebias.helpers import cue_conflict_dir  # noqa: F401 (fixture)

REPO = Path(__file__).resolve().parents[1]


def test_json_stdout_only_moves_python_and_fd_level_prints_to_stderr(capfd):
    with json_stdout_only():
        print("chatter from a model file")
        os.write(1, b"chatter from C code\n")
        print_json({"answer": 42})
        print("more chatter")
    out, err = capfd.readouterr()
    assert json.loads(out) == {"answer": 42}
    assert "chatter from a model file" in err and "chatter from C code" in err and "more chatter" in err
    print("after the block")
    assert capfd.readouterr().out == "after the block\n"  # stdout restored


def test_json_written_even_when_the_command_fails(capfd):
    with pytest.raises(RuntimeError), json_stdout_only():
        print_json([1])
        raise RuntimeError("late failure")
    assert json.loads(capfd.readouterr().out) == [1]


def _chatty_model_file(folder: Path) -> Path:
    """A model file that prints like efficientnet_lite_pytorch does, at import and in build,
    through Python, through file descriptor 1 and through C's printf (buffered in libc)."""
    path = folder / "chatty_model.py"
    path.write_text(
        "import os, sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "print('importing chatty model')\n"
        "from tests.shapebias.helpers import Oracle\n"
        "def build():\n"
        "    print('Loaded pretrained weights for efficientnet-lite0')\n"
        "    os.write(1, b'fd-level chatter\\n')\n"
        "    if sys.platform != 'win32':\n"
        "        import ctypes\n"
        "        ctypes.CDLL(None).printf(b'printf chatter\\n')\n"
        "    return Oracle()\n"
    )
    return path


def test_shape_bias_json_stdout_is_parseable_with_a_printing_model(cue_conflict_dir, tmp_path):  # noqa: F811
    model = _chatty_model_file(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(stylebias.__file__).parents[1]), str(REPO)])}
    proc = subprocess.run(
        [sys.executable, "-m", "stylebias.cli", "shape-bias", "--model", f"{model}:build",
         "--stimuli", str(cue_conflict_dir), "--resize", "none", "--crop", "none",
         "--mean", "0", "0", "0", "--std", "1", "1", "1", "--workers", "0",
         "--output", str(tmp_path / "out"), "--json"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    [row] = json.loads(proc.stdout)
    assert row["shape_bias"] == pytest.approx(0.6)
    for chatter in ("importing chatty model", "Loaded pretrained weights", "fd-level chatter"):
        assert chatter in proc.stderr
    if sys.platform != "win32":
        assert "printf chatter" in proc.stderr
