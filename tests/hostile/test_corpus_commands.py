"""Every command that reads images, run in-process on the hostile corpus with tiny models.

For each command the corpus (good files plus every hostile case, named by the command's
convention) is run repeatedly, "peeling" it: a command that stops on an unreadable file must
exit 2 with a one-line error naming the undecodable cases it met (those of one batch), which are
then removed and the command run again, until it succeeds. The successful run must have processed the good files and
every loadable hostile case, and named every file it skipped (non-regular files in the log,
out-of-range or EXIF problems in a DataWarning). A command that skips unreadable files itself
(``stylize``) succeeds at once and must name every undecodable case as skipped. No run may let
an exception out of ``main`` or print a traceback. Each test prints its counts (run pytest with
``-s`` to see them).

``train`` runs twice, not once per case (a run costs seconds): on the loadable cases, then on
the undecodable ones; the per-case decoding path of its dataset is covered in
``test_corpus_loaders.py``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from stylebias.cli import main
from tests.hostile.conftest import Run, Tally, write_good
from tests.hostile.corpus import Case, build_corpus

LOADABLE = ("ok", "warn")


def _check_clean(run: Run, tally: Tally) -> None:
    tally.counts["runs"] += 1
    leaked = run.traceback or ("Traceback" in run.err or "Traceback" in run.log)
    tally.counts["tracebacks"] += bool(leaked)
    assert not leaked, f"{tally.command}: a traceback escaped:\n{run.traceback or run.err or run.log}"
    assert run.code in (0, 2), f"{tally.command}: exit code {run.code}\n{run.err}"


def _check_named_skips(runs: list[Run], cases: list[Case], tally: Tally) -> None:
    """Every non-regular file named in a log, every out-of-range/EXIF case in a DataWarning
    (in any of ``runs``: a resumed run does not reread what it finished)."""
    log = "\n".join(r.log for r in runs)
    warned = [w for r in runs for w in r.warned]
    for case in cases:
        if case.expect == "skip":
            assert case.path.name in log, f"{tally.command}: skipped {case.name} not logged:\n{log}"
            tally.counts["skipped"] += 1
        if case.expect == "warn":
            assert any(case.path.name in w for w in warned), f"{tally.command}: no warning for {case.name}"


def peel(command: str, run_command: Callable[[], Run], cases: list[Case], processed: Callable[[Run], int],
         good: int, emit: Callable[[Tally], None]) -> None:
    """Run until success, removing the undecodable case each failed run names (see module doc)."""
    tally = Tally(command)
    tally.counts["inputs"] = len(cases) + good
    undecodable = [c for c in cases if c.expect == "error"]
    runs = []
    for _ in range(len(undecodable) + 1):
        run = run_command()
        runs.append(run)
        _check_clean(run, tally)
        if run.code == 0:
            break
        named = [c for c in undecodable if c.path.name in run.err]  # a batch may name several
        assert named, f"{command}: the error names none of the bad files:\n{run.err}"
        assert run.err.count("\n") == 1 and run.err.startswith(f"stylebias {command}: error:")
        tally.counts["clean errors"] += len(named)
        for case in named:
            undecodable.remove(case)
            case.path.unlink()
    assert run.code == 0 and not undecodable, f"{command}: never named {[c.name for c in undecodable]}"
    _check_named_skips(runs, cases, tally)
    tally.counts["processed"] = processed(run)
    assert tally.counts["processed"] == good + sum(c.expect in LOADABLE for c in cases)
    emit(tally)


# ----------------------------------------------------------------------------- the commands
def test_shape_bias(tmp_path, model_file, cli, emit):
    root = tmp_path / "stimuli"
    cases = build_corpus(root / "cat", stem=lambda base, i: f"cat{i}-dog1")
    good = write_good(root / "dog", ["dog1-cat1", "dog2-bottle1"])
    argv = ["shape-bias", "--model", f"{model_file}:imagenet", "--stimuli", root, "--resize", 16, "--crop", 16,
            "--workers", 0, "--output-dir", tmp_path / "out", "--no-progress", "--json"]
    peel("shape-bias", lambda: cli(argv), cases, lambda run: json.loads(run.out)[0]["n"], len(good), emit)


def test_robustness_and_corrupt(tmp_path, model_file, cli, emit):
    data = tmp_path / "clean"
    cases = build_corpus(data / "0")
    good = write_good(data / "1", ["a", "b"])
    argv = ["robustness", "--model", f"{model_file}:two_classes", "--data", data, "--layout", "clean",
            "--corruptions", "contrast", "--severities", 1, "--resize", 32, "--crop", 32, "--workers", 0,
            "--no-plot", "--output-dir", tmp_path / "report", "--no-progress", "--json"]
    peel("robustness", lambda: cli(argv), cases, lambda run: json.loads(run.out)["images"]["contrast"]["1"], len(good), emit)

    data = tmp_path / "to_corrupt"
    cases = build_corpus(data / "0")
    good = write_good(data / "1", ["a", "b"])
    argv = ["corrupt", "--input-dir", data, "--output-dir", tmp_path / "corrupted", "--corruptions", "contrast",
            "--severities", 1, "--resize", 32, "--crop", 32, "--no-progress", "--json"]
    written = tmp_path / "corrupted" / "contrast" / "1"  # earlier runs wrote part, resumed after
    peel("corrupt", lambda: cli(argv), cases, lambda run: sum(p.is_file() for p in written.rglob("*")), len(good), emit)


def test_retrieval(tmp_path, model_file, cli, emit):
    query = tmp_path / "query"
    write_good(query, ["0001_c1s1_000001_01", "0002_c1s1_000001_01"])
    gallery = tmp_path / "gallery"
    cases = build_corpus(gallery, stem=lambda base, i: f"{i + 3:04d}_c2s1_{base}")
    good = write_good(gallery, ["0001_c2s1_000001_01", "0002_c2s1_000001_01"])
    argv = ["retrieval", "--model", f"{model_file}:features", "--query", query, "--gallery", gallery,
            "--height", 16, "--width", 8, "--device", "cpu", "--json"]
    peel("retrieval", lambda: cli(argv), cases, lambda run: json.loads(run.out)["num_gallery_images"], len(good), emit)


def test_explain(tmp_path, model_file, cli, emit):
    cases = build_corpus(tmp_path / "images", stem=lambda base, i: f"{i:02d}_{base}")  # distinct stems
    good = write_good(tmp_path / "images", ["good"])
    out = tmp_path / "explained"
    tally = Tally("explain")
    tally.counts["inputs"] = len(cases) + len(good)
    for case in cases:  # explain takes files, not a folder: each unreadable one on its own
        if case.expect in LOADABLE:
            continue
        run = cli(["explain", case.path, *good, "--model", f"{model_file}:imagenet_32px", "--output-dir", out])
        _check_clean(run, tally)
        assert run.code == 2 and case.path.name in run.err, run.err
        tally.counts["clean errors"] += 1
    loadable = [c for c in cases if c.expect in LOADABLE]
    run = cli(["explain", *[c.path for c in loadable], *good, "--model", f"{model_file}:imagenet_32px",
               "--output-dir", out, "--json"])
    _check_clean(run, tally)
    assert run.code == 0, run.err
    _check_named_skips([run], loadable, tally)
    tally.counts["processed"] = sum(Path(r["output"]).is_file() for r in json.loads(run.out))
    assert tally.counts["processed"] == len(loadable) + len(good)
    emit(tally)


@pytest.mark.slow
def test_stylize_skips_and_names_every_unreadable_file(tmp_path, adain_weights, cli, emit):
    content, style = tmp_path / "content", tmp_path / "style"
    cases = build_corpus(content)
    good = write_good(content, ["good1", "good2"])
    write_good(style, ["painting1", "painting2"], seed=2)
    argv = ["stylize", "--content-dir", content, "--style-dir", style, "--output-dir", tmp_path / "out",
            "--vgg", adain_weights[0], "--decoder", adain_weights[1], "--content-size", 16, "--style-size", 16,
            "--extensions", "jpg", "png", "gif", "tif", "webp", "bmp", "--workers", 0, "--device", "cpu",
            "--no-progress", "--json"]
    tally = Tally("stylize")
    tally.counts["inputs"] = len(cases) + len(good)
    run = cli(argv)
    _check_clean(run, tally)
    assert run.code == 0, run.err
    _check_named_skips([run], cases, tally)
    skipped = [json.loads(line) for line in (tmp_path / "out" / "skipped.jsonl").read_text().splitlines()]
    assert sorted(Path(s["file"]).name for s in skipped) == sorted(c.path.name for c in cases if c.expect == "error")
    assert all(s["fault"] == "content" and s["reason"] for s in skipped)
    tally.counts["skipped"] += len(skipped)
    summary = json.loads(run.out)
    tally.counts["processed"] = summary["written"]
    assert summary["written"] == len(good) + sum(c.expect in LOADABLE for c in cases)
    emit(tally)


@pytest.mark.slow
def test_train_on_a_hostile_image_folder(tmp_path, cli, emit):
    data = tmp_path / "data"
    cases = build_corpus(data / "a")
    good = write_good(data / "b", [f"b{i}" for i in range(8)])
    argv = ["train", "--data", f"folder:{data}", "--steps", 3, "--batch-size", 16, "--image-size", 16,
            "--workers", 0, "--no-progress", "--hparams", '{"model_width": 4}', "--json"]
    tally = Tally("train")
    tally.counts["inputs"] = len(cases) + len(good)
    undecodable = [c for c in cases if c.expect == "error"]
    held = tmp_path / "held"
    held.mkdir()
    for case in undecodable:  # first the loadable cases alone: training succeeds
        shutil.move(case.path, held / case.path.name)
    run = cli([*argv, "--output-dir", tmp_path / "run1"])
    _check_clean(run, tally)
    assert run.code == 0, run.err
    _check_named_skips([run], cases, tally)
    tally.counts["processed"] = len(good) + sum(c.expect in LOADABLE for c in cases)
    for case in undecodable:  # then with the undecodable files back: a clean error naming one,
        shutil.move(held / case.path.name, case.path)  # even from a DataLoader worker process
    run = cli([*argv[:-1], "--workers", 1, "--json", "--output-dir", tmp_path / "run2"])
    _check_clean(run, tally)
    assert run.code == 2 and any(c.path.name in run.err for c in undecodable), run.err
    assert run.err.count("\n") == 1 and "(in DataLoader worker process 0)" in run.err, run.err
    tally.counts["clean errors"] += 1
    emit(tally)


def test_non_utf8_file_names_print_as_their_bytes(tmp_path, model_file, monkeypatch):
    # Under a strict stdout (en_US.UTF-8 without UTF-8 mode) printing such a name raised
    # UnicodeEncodeError after the work was done.
    [image] = write_good(tmp_path, ["x"])
    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.png"))
    image.rename(odd)
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    monkeypatch.setattr(sys, "stdout", stdout)
    assert main(["explain", str(odd), "--model", f"{model_file}:imagenet_32px", "--output-dir", str(tmp_path / "out")]) == 0
    stdout.flush()
    assert os.fsencode(tmp_path) + b"/out/caf\xe9_gradcam.png" in stdout.buffer.getvalue()


def test_explain_gives_images_with_the_same_stem_their_own_panels(tmp_path, model_file, cli):
    # a.jpg and a.png (a wrong or doubled extension) both wrote a_gradcam.png: one panel was lost.
    write_good(tmp_path / "one", ["a", "a-2"])
    write_good(tmp_path / "two", ["a"], seed=3)
    images = [tmp_path / "one" / "a.png", tmp_path / "one" / "a-2.png", tmp_path / "two" / "a.png"]
    run = cli(["explain", *images, "--model", f"{model_file}:imagenet_32px", "--output-dir", tmp_path / "out", "--json"])
    assert run.code == 0, run.err
    outputs = [Path(r["output"]).name for r in json.loads(run.out)]
    # clashing stems are named after their folder too (shapebias.explain's rule)
    assert outputs == ["one_a_gradcam.png", "a-2_gradcam.png", "two_a_gradcam.png"]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == sorted(outputs)
