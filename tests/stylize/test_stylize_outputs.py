"""stylize_dataset: the manifest describes exactly the files on disk, whatever runs came before.

Each test here failed on the code before the fix: a rerun with another alpha rewrote the
manifest over old images, a second run replaced the first run's records, outputs went into
the input folder, two inputs shared one output, and links were followed or counted as done.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stylebias.errors import DataError, InvalidArgumentError
from stylebias.stylize.dataset import StylizeConfig, stylize_dataset


def _image(path: Path, seed: int, size: tuple[int, int] = (16, 16)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture()
def tiny(tmp_path) -> dict[str, Path]:
    """Two content folders of two 16-px images each, and two styles."""
    for i, name in enumerate(["one/c/p.png", "one/q.png", "two/c/r.png", "two/s.png"]):
        _image(tmp_path / name, i)
    for i in range(2):
        _image(tmp_path / "style" / f"s{i}.png", 10 + i)
    return {"one": tmp_path / "one", "two": tmp_path / "two", "style": tmp_path / "style",
            "root": tmp_path}  # fmt: skip


def run(weight_files, content: Path, style: Path, out: Path, **kw) -> dict:
    cfg = StylizeConfig(content_dir=content, style_dir=style, output_dir=out, vgg=weight_files[0],
                        decoder=weight_files[1], style_size=16, workers=0, progress=False, **kw)
    return stylize_dataset(cfg)


def manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def assert_describes_disk(out: Path) -> list[dict]:
    """Every record's file exists with the recorded size and hash, and every image is listed."""
    records = manifest(out)
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert sorted(r["output"] for r in records) == on_disk
    for r in records:
        data = (out / r["output"]).read_bytes()
        assert len(data) == r["bytes"] and hashlib.sha256(data).hexdigest() == r["sha256"]
    return records


def test_rerun_with_other_alpha_refuses_and_keeps_the_manifest(tiny, weight_files):
    out = tiny["root"] / "out"
    run(weight_files, tiny["one"], tiny["style"], out, alpha=1.0)
    before = (out / "manifest.jsonl").read_text()
    with pytest.raises(InvalidArgumentError, match=r"alpha: 1\.0 on disk, 0\.5 now.*new --output-dir"):
        run(weight_files, tiny["one"], tiny["style"], out, alpha=0.5)
    assert (out / "manifest.jsonl").read_text() == before
    assert {r["alpha"] for r in assert_describes_disk(out)} == {1.0}
    # outputs deleted by hand are no longer described, so they are redone with the new settings
    for r in manifest(out):
        (out / r["output"]).unlink()
    assert run(weight_files, tiny["one"], tiny["style"], out, alpha=0.5)["written"] == 2
    assert {r["alpha"] for r in assert_describes_disk(out)} == {0.5}


def test_runs_into_one_folder_add_up(tiny, weight_files):
    """Sequential runs with other content folders and seeds, then two runs at once."""
    out = tiny["root"] / "out"
    run(weight_files, tiny["one"], tiny["style"], out, seed=0)
    run(weight_files, tiny["two"], tiny["style"], out, seed=0)
    run(weight_files, tiny["one"], tiny["style"], out, seed=1, num_styles=2)
    records = assert_describes_disk(out)
    assert sorted({r["content"] for r in records}) == ["c/p.png", "c/r.png", "q.png", "s.png"]
    assert len(records) == 4 + 2  # seed 1 with two styles adds the other style of one's images
    assert {Path(r["content_dir"]).name for r in records} == {"one", "two"}
    assert not list((out / ".stylebias").glob("journal-*"))  # merged journals are removed

    together = tiny["root"] / "together"
    errors: list[BaseException] = []

    def job(content: Path) -> None:
        try:
            run(weight_files, content, tiny["style"], together, num_styles=2)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=job, args=(tiny[k],)) for k in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(assert_describes_disk(together)) == 8


def test_same_output_from_another_content_folder_refuses(tiny, weight_files):
    out = tiny["root"] / "out"
    _image(tiny["root"] / "three" / "q.png", 99)  # q.png also exists in one/
    run(weight_files, tiny["one"], tiny["style"], out, num_styles=2)
    with pytest.raises(InvalidArgumentError, match="content_dir"):
        run(weight_files, tiny["root"] / "three", tiny["style"], out, num_styles=2)
    assert {Path(r["content_dir"]).name for r in assert_describes_disk(out)} == {"one"}


def test_output_folder_inside_an_input_folder_is_refused(tiny, weight_files):
    for content, out in [(tiny["one"], tiny["one"] / "stylized"),
                         (tiny["one"], tiny["style"] / "out"),
                         (tiny["root"] / "two" / "c", tiny["root"] / "two")]:  # fmt: skip
        with pytest.raises(InvalidArgumentError, match="overlap"):
            run(weight_files, content, tiny["style"], out)
    assert not (tiny["one"] / "stylized").exists() and not (tiny["style"] / "out").exists()


def test_inputs_that_would_share_an_output_get_distinct_names(tiny, weight_files):
    _image(tiny["one"] / "q.jpg", 5)  # q.png is there: both become q*.png with format png
    out = tiny["root"] / "out"
    run(weight_files, tiny["one"], tiny["style"], out, output_format="png",
        extensions=("png", "jpg"))  # fmt: skip
    records = assert_describes_disk(out)
    assert len(records) == 3 and len({r["output"] for r in records}) == 3
    names = {r["content"]: r["output"].split("-stylized-")[0] for r in records}
    assert names == {"c/p.png": "c/p", "q.jpg": "q.jpg", "q.png": "q.png"}


def test_style_and_content_names_never_clash(tmp_path):
    from stylebias.stylize.naming import content_bases, style_names

    styles = [tmp_path / p for p in ["a_x.jpg", "a/x.jpg", "b/x.jpg", "y.jpg", "y.png", "z.jpg"]]
    names = style_names(styles, tmp_path)
    assert len({n.casefold() for n in names}) == len(names)
    assert names[0] == "a_x" and names[2] == "b_x" and names[5] == "z"  # unique ones kept
    assert names[1].startswith("a_x_") and names[3].startswith("y_") and names[4].startswith("y_")
    assert style_names(styles, tmp_path) == names  # deterministic
    contents = [tmp_path / p for p in ["k/A.png", "k/a.png", "k/b.png"]]
    bases = content_bases(contents, tmp_path, "same")  # names differing in case only clash
    assert bases[0].startswith("k/A.png_") and bases[1].startswith("k/a.png_") and bases[2] == "k/b"


def test_a_link_at_an_output_path_is_not_done_and_not_written_through(tiny, weight_files):
    out = tiny["root"] / "out"
    run(weight_files, tiny["one"], tiny["style"], out)
    victim = out / manifest(out)[0]["output"]
    target = tiny["root"] / "elsewhere.png"
    target.write_bytes(b"not ours")
    victim.unlink()
    victim.symlink_to(target)
    with pytest.raises(DataError, match="symbolic link"):
        run(weight_files, tiny["one"], tiny["style"], out)
    assert target.read_bytes() == b"not ours"
    assert victim.name not in {Path(r["output"]).name for r in manifest(out)}


def test_a_linked_output_folder_is_not_followed_out(tiny, weight_files):
    out, elsewhere = tiny["root"] / "out", tiny["root"] / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "c").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(DataError, match="outside the output folder"):
        run(weight_files, tiny["one"], tiny["style"], out)
    assert not any(elsewhere.iterdir())
    (out / "c").unlink()  # a link inside the output folder could make two outputs one file
    (out / "d").mkdir()
    (out / "c").symlink_to(out / "d", target_is_directory=True)
    with pytest.raises(DataError, match="inside the output folder"):
        run(weight_files, tiny["one"], tiny["style"], out)
    assert not any((out / "d").iterdir())


def test_an_interrupted_run_resumes_from_its_journal(tiny, weight_files):
    """A run killed before its merge leaves a journal: the next run reuses what it lists and
    redoes files that no record describes."""
    out = tiny["root"] / "out"
    run(weight_files, tiny["one"], tiny["style"], out)
    records = manifest(out)
    journal = out / ".stylebias" / "journal-999999-dead.jsonl"
    journal.write_text("".join(json.dumps({**r, "kind": "output"}) + "\n" for r in records)
                       + '{"output": "torn')  # killed mid-line
    (out / "manifest.jsonl").unlink()
    again = run(weight_files, tiny["one"], tiny["style"], out)
    assert again["written"] == 0 and again["existing"] == 2
    assert assert_describes_disk(out) == records and not journal.exists()
    (out / "manifest.jsonl").unlink()  # files no record describes are redone, then described
    assert run(weight_files, tiny["one"], tiny["style"], out)["written"] == 2
    assert assert_describes_disk(out) == records


def test_a_content_image_over_max_pixels_is_named_when_downscaled(tmp_path, weight_files, caplog):
    """Its output is smaller than the content: that is said, with the file and both sizes."""
    _image(tmp_path / "c" / "big.png", 0, size=(60, 40))
    _image(tmp_path / "c" / "small.png", 1, size=(16, 16))
    _image(tmp_path / "s" / "s.png", 2)
    with caplog.at_level("WARNING", logger="stylebias.stylize.dataset"):
        run(weight_files, tmp_path / "c", tmp_path / "s", tmp_path / "out", max_pixels=1000)
    warned = [r.getMessage() for r in caplog.records if "downscaled" in r.getMessage()]
    assert len(warned) == 1 and "big.png is 60 x 40" in warned[0]
    [big] = [p for p in (tmp_path / "out").rglob("big*.png")]
    assert Image.open(big).size[0] * Image.open(big).size[1] <= 1000
