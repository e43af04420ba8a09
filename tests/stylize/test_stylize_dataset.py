"""stylize_dataset: naming, manifest, resume, determinism, sharding, bad input, CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stylebias.cli import main
from stylebias.errors import DataError, InvalidArgumentError, MissingFileError
from stylebias.stylize.dataset import StylizeConfig, assign_styles, merge_manifests, stylize_dataset

GOOD = ["cls_a/gray.png", "cls_a/rgb.JPG", "cls_a/rgba.png", "cls_b/cmyk.jpg",
        "cls_b/palette.png", "cls_b/sixteen.png", "cls_b/tiny.png"]  # fmt: skip


def config(folders, out: str, weight_files, **kw) -> StylizeConfig:
    base = dict(
        content_dir=folders["content"], style_dir=folders["style"],
        output_dir=folders["root"] / out, vgg=weight_files[0], decoder=weight_files[1],
        style_size=32, workers=0, batch_size=4, progress=False,
    )  # fmt: skip
    base.update(kw)
    return StylizeConfig(**base)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def without_bytes(records: list[dict]) -> list[dict]:
    """Records less the written file's size and hash: batching may move a pixel by one level."""
    return [{k: v for k, v in r.items() if k not in ("bytes", "sha256")} for r in records]


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*")) if p.is_file() and not p.name.endswith(".jsonl")
    }  # fmt: skip


def test_assign_styles_is_pure_and_distinct():
    a = assign_styles(3, "x/y.jpg", 3, 10)
    assert a == assign_styles(3, "x/y.jpg", 3, 10) and len(set(a)) == 3
    assert all(0 <= i < 10 for i in a)
    picks = {tuple(assign_styles(s, "x/y.jpg", 2, 50)) for s in range(20)}
    assert len(picks) > 15  # the seed matters
    assert sorted(assign_styles(0, "k", 4, 4)) == [0, 1, 2, 3]
    with pytest.raises(InvalidArgumentError, match="only 4"):
        assign_styles(0, "k", 5, 4)


def test_full_run_resume_and_manifest(folders, weight_files):
    cfg = config(folders, "out", weight_files, num_styles=2, seed=5)
    summary = stylize_dataset(cfg)
    out = cfg.output_dir
    manifest = read_jsonl(out / "manifest.jsonl")
    skipped = read_jsonl(out / "skipped.jsonl")
    assert summary["written"] == len(manifest) == 2 * len(GOOD)
    assert sorted({m["content"] for m in manifest}) == GOOD
    for m in manifest:
        content = Path(m["content"])
        style = Path(m["style"])
        assert m["output"] == (content.parent / f"{content.stem}-stylized-{style.stem}{content.suffix}").as_posix()
        assert (folders["style"] / style).is_file() and m["alpha"] == 1.0
        # the output has exactly the content's size (no multiple-of-8 growth)
        with Image.open(out / m["output"]) as o, Image.open(folders["content"] / content) as c:
            assert o.size == c.size and o.mode == "RGB"
    assert {s["fault"] for s in skipped} == {"content"}
    assert all("broken.png" in s["file"] and "broken.png" in s["reason"] for s in skipped)
    assert not any(p.name.endswith(".tmp") for p in out.rglob("*"))
    # the style assignment is the pure function of (seed, content path)
    styles = sorted(p.name for p in folders["style"].iterdir())
    for m in manifest:
        assert styles.index(m["style"]) in assign_styles(5, m["content"], 2, 4)

    before = snapshot(out)
    manifest_mtime = (out / "manifest.jsonl").stat().st_mtime_ns
    again = stylize_dataset(cfg)
    assert again["written"] == 0 and again["existing"] == len(manifest)
    assert snapshot(out) == before  # nothing rewritten
    assert (out / "manifest.jsonl").stat().st_mtime_ns == manifest_mtime

    # a deleted output is redone, byte-identical
    victim = out / manifest[0]["output"]
    data = victim.read_bytes()
    victim.unlink()
    assert stylize_dataset(cfg)["written"] == 1
    assert victim.read_bytes() == data


def test_same_seed_same_bytes_any_batching(folders, weight_files):
    a = config(folders, "a", weight_files, seed=1, output_format="png")
    b = config(folders, "b", weight_files, seed=1, output_format="png", batch_size=1, workers=1)
    stylize_dataset(a)
    stylize_dataset(b)
    ma, mb = read_jsonl(a.output_dir / "manifest.jsonl"), read_jsonl(b.output_dir / "manifest.jsonl")
    assert without_bytes(ma) == without_bytes(mb)
    for m in ma:
        pa, pb = np.asarray(Image.open(a.output_dir / m["output"]), np.int16), np.asarray(
            Image.open(b.output_dir / m["output"]), np.int16)
        assert np.abs(pa - pb).max() <= 1  # batch size may move a float by an ulp
    c = config(folders, "c", weight_files, seed=1, output_format="png")
    stylize_dataset(c)
    assert {k: v[0] for k, v in snapshot(a.output_dir).items()} == {
        k: v[0] for k, v in snapshot(c.output_dir).items()}


def test_sharded_runs_merge_to_the_single_run(folders, weight_files):
    single = config(folders, "single", weight_files, seed=2, content_size=16, crop=16)
    stylize_dataset(single)
    r0 = stylize_dataset(config(folders, "shard", weight_files, seed=2, content_size=16, crop=16,
                                rank=0, world_size=2))  # fmt: skip
    assert r0["manifest"] is None  # rank 1 has not finished: nothing merged yet
    r1 = stylize_dataset(config(folders, "shard", weight_files, seed=2, content_size=16, crop=16,
                                rank=1, world_size=2))  # fmt: skip
    assert r1["manifest"] is not None and r0["written"] + r1["written"] == len(GOOD)
    shard_dir = single.output_dir.parent / "shard"
    assert without_bytes(read_jsonl(shard_dir / "manifest.jsonl")) == without_bytes(
        read_jsonl(single.output_dir / "manifest.jsonl"))
    for m in read_jsonl(shard_dir / "manifest.jsonl"):
        assert Image.open(shard_dir / m["output"]).size == (16, 16)
    assert merge_manifests(shard_dir, 3) is None


def test_bad_style_is_blamed_on_the_style(folders, weight_files):
    (folders["style"] / "zz_bad.JPG").write_bytes(b"\xff\xd8\xff" + b"\x00" * 20)  # truncated JPEG
    cfg = config(folders, "out", weight_files, num_styles=5, extensions=("JPG", "png"))
    summary = stylize_dataset(cfg)
    skipped = read_jsonl(cfg.output_dir / "skipped.jsonl")
    style_faults = [s for s in skipped if s["fault"] == "style"]
    assert style_faults and all(s["file"].endswith("zz_bad.JPG") for s in style_faults)
    assert summary["written"] == 4 * len(GOOD)


def test_errors_before_any_work(folders, weight_files, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    cfg = config(folders, "never", weight_files, content_dir=empty)
    with pytest.raises(DataError, match="no image files"):
        stylize_dataset(cfg)
    cfg = config(folders, "never", weight_files, vgg=tmp_path / "missing.pth")
    with pytest.raises(MissingFileError, match="missing.pth"):
        stylize_dataset(cfg)
    with pytest.raises(InvalidArgumentError, match="num_styles"):
        stylize_dataset(config(folders, "never", weight_files, num_styles=9))
    with pytest.raises(InvalidArgumentError, match="alpha"):
        stylize_dataset(config(folders, "never", weight_files, alpha=2.0))
    assert not (folders["root"] / "never").exists()


def test_cli(folders, weight_files, capsys):
    out = folders["root"] / "cli"
    argv = ["stylize", "--content-dir", str(folders["content"]), "--style-dir",
            str(folders["style"]), "--output-dir", str(out), "--vgg", str(weight_files[0]),
            "--decoder", str(weight_files[1]), "--style-size", "32", "--workers", "0",
            "--extensions", "PNG", "JpG", "--format", "jpg", "--quality", "80", "--alpha", "0.5",
            "--no-progress", "--json"]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["written"] == 7 and summary["failed"] == 1
    assert all(m["output"].endswith(".jpg") and m["alpha"] == 0.5
               for m in read_jsonl(out / "manifest.jsonl"))  # fmt: skip
    argv[argv.index("--vgg") + 1] = os.fspath(folders["root"] / "nope.pth")
    assert main(argv) == 2
    assert "nope.pth" in capsys.readouterr().err


def test_huge_images_are_capped(folders, weight_files):
    cfg = config(folders, "capped", weight_files, max_pixels=150, extensions=("JPG",))
    stylize_dataset(cfg)
    (m,) = [r for r in read_jsonl(cfg.output_dir / "manifest.jsonl") if r["content"] == "cls_a/rgb.JPG"]
    with Image.open(cfg.output_dir / m["output"]) as img:
        assert img.size[0] * img.size[1] <= 150 and img.size[0] > img.size[1]  # aspect kept


_TORCHRUN_SCRIPT = """
import json, sys
import torch.distributed as dist
from stylebias.stylize.dataset import StylizeConfig, stylize_dataset
dist.init_process_group("gloo")
args = json.loads(sys.argv[1])
summary = stylize_dataset(StylizeConfig(**args))
keep = {k: summary[k] for k in ("rank", "world_size", "written", "manifest")}
with open(sys.argv[2] + f"/summary-{summary['rank']}.json", "w") as fh:
    json.dump(keep, fh)
dist.destroy_process_group()
"""


@pytest.mark.slow
def test_torchrun_two_ranks_gloo(folders, weight_files, tmp_path):
    """The standard launcher: two processes, RANK/WORLD_SIZE from the environment, a barrier,
    and rank 0 merging the manifests."""
    import subprocess
    import sys

    script = tmp_path / "job.py"
    script.write_text(_TORCHRUN_SCRIPT)
    args = dict(content_dir=str(folders["content"]), style_dir=str(folders["style"]),
                output_dir=str(tmp_path / "ddp"), vgg=str(weight_files[0]),
                decoder=str(weight_files[1]), style_size=16, content_size=16, crop=16,
                workers=0, progress=False, seed=4)  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(script), json.dumps(args), str(tmp_path)],
        capture_output=True, text=True, timeout=240, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    summaries = [json.loads((tmp_path / f"summary-{r}.json").read_text()) for r in (0, 1)]
    assert [s["rank"] for s in summaries] == [0, 1] and summaries[1]["manifest"] is None
    assert sum(s["written"] for s in summaries) == len(GOOD)
    single = config(folders, "single", weight_files, style_size=16, content_size=16, crop=16, seed=4)
    stylize_dataset(single)
    assert without_bytes(read_jsonl(tmp_path / "ddp" / "manifest.jsonl")) == without_bytes(
        read_jsonl(single.output_dir / "manifest.jsonl"))
