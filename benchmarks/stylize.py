"""Images per second of stylebias stylization vs the one-pair-at-a-time loop of stylize-datasets.

Both sides use the same network weights (random, seeded: speed does not depend on the values)
on the same device. Two measurements per style size:

- ``model``: tensors already in memory. Reference: for every (content, style) pair, encode the
  content, encode the style, AdaIN, decode (``style_transfer`` of bethgelab/stylize-datasets,
  re-expressed below). Ours: styles encoded once (``encode_style``), contents in batches.
- ``files``: folder to folder, including decoding, resizing and saving. Reference: the loop of
  stylize-datasets' ``stylize.py`` (PIL open, ``Resize``, ``ToTensor``, ``style_transfer``,
  ``save_image``) re-expressed; ours: :func:`stylebias.stylize.stylize_dataset`.

Usage::

    python benchmarks/stylize.py                 # CPU, 224-px contents, 224- and 512-px styles
    python benchmarks/stylize.py --device cuda --n 256 --batch-size 32

Prints a table and a JSON record (torch version, device, shapes, images/s, ratios).
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from stylebias.stylize import AdaINStylizer
from stylebias.stylize.dataset import PRECISIONS, StylizeConfig, stylize_dataset
from stylebias.stylize.network import build_decoder, build_vgg


# ---- reference (bethgelab/stylize-datasets stylize.py + pytorch-AdaIN function.py) ----------
# AdaIN itself is the re-expression shared with the tests (tests/functional/reference.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.functional.reference import ref_adain  # noqa: E402


def ref_style_transfer(vgg, decoder, content, style, alpha=1.0):
    content_f = vgg(content)
    style_f = vgg(style)
    feat = ref_adain(content_f, style_f)
    feat = feat * alpha + content_f * (1 - alpha)
    return decoder(feat)


def ref_folder_loop(vgg, decoder, device, contents, styles, out_dir, style_size, assignment):
    """The per-pair loop of stylize-datasets (content_size 0, one style per image)."""
    import torchvision.transforms as T
    from torchvision.utils import save_image

    content_tf = T.Compose([T.ToTensor()])
    style_tf = T.Compose([T.Resize(style_size), T.ToTensor()])
    for content_path, si in zip(contents, assignment):
        content_img = Image.open(content_path).convert("RGB")
        style_path = styles[si]
        style_img = Image.open(style_path).convert("RGB")
        content = content_tf(content_img).to(device).unsqueeze(0)
        style = style_tf(style_img).to(device).unsqueeze(0)
        with torch.no_grad():
            output = ref_style_transfer(vgg, decoder, content, style).cpu()
        name = f"{content_path.stem}-stylized-{style_path.stem}{content_path.suffix}"
        save_image(output, out_dir / name, padding=0)


# ---- helpers ----------------------------------------------------------------------------------
def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def smooth_image(rng: np.random.Generator, size: int) -> np.ndarray:
    """A photo-like (smooth, compressible) random RGB image of ``size x size``."""
    small = rng.integers(0, 256, (size // 16 + 1, size // 16 + 1, 3), dtype=np.uint8)
    big = Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC)
    noise = rng.normal(0, 6, (size, size, 3))
    return np.clip(np.asarray(big, dtype=np.float64) + noise, 0, 255).astype(np.uint8)


def make_networks(device: torch.device) -> tuple[AdaINStylizer, nn.Module, nn.Module, Path]:
    torch.manual_seed(0)
    vgg, dec = build_vgg(), build_decoder()
    tmp = Path(tempfile.mkdtemp(prefix="stylebias-bench-w-"))
    torch.save(vgg.state_dict(), tmp / "vgg_normalised.pth")
    torch.save(dec.state_dict(), tmp / "decoder.pth")
    ours = AdaINStylizer.from_files(tmp / "vgg_normalised.pth", tmp / "decoder.pth").to(device)
    ref_vgg = nn.Sequential(*list(vgg.children())[:31]).to(device).eval()
    return ours, ref_vgg, dec.to(device).eval(), tmp


def model_inputs(device, n, n_styles, content_px, style_px):
    gen = torch.Generator().manual_seed(1)
    contents = torch.rand(n, 3, content_px, content_px, generator=gen).to(device)
    styles = torch.rand(n_styles, 3, style_px, style_px, generator=gen).to(device)
    return contents, styles, torch.randint(n_styles, (n,), generator=gen)


def bench_model_ref(ref_vgg, ref_dec, device, contents, styles, assignment):
    n = contents.shape[0]
    with torch.no_grad():
        ref_style_transfer(ref_vgg, ref_dec, contents[:1], styles[:1])  # warm-up
        sync(device)
        t0 = time.perf_counter()
        for i in range(n):
            s = int(assignment[i])
            ref_style_transfer(ref_vgg, ref_dec, contents[i : i + 1], styles[s : s + 1])
        sync(device)
    return n / (time.perf_counter() - t0)


def bench_model_ours(ours, device, contents, styles, assignment, batch):
    n, n_styles = contents.shape[0], styles.shape[0]
    with torch.inference_mode():
        ours(contents[:batch], ours.encode_style(styles[:1]))  # warm-up
        sync(device)
        t0 = time.perf_counter()
        codes = [ours.encode_style(styles[s : s + 1]) for s in range(n_styles)]  # once per style
        for a in range(0, n, batch):
            idx = assignment[a : a + batch].tolist()
            code = type(codes[0]).cat([codes[s] for s in idx])
            ours(contents[a : a + batch], code)
        sync(device)
    return n / (time.perf_counter() - t0)


def make_folder(n, n_styles, content_px, style_px):
    rng = np.random.default_rng(0)
    root = Path(tempfile.mkdtemp(prefix="stylebias-bench-f-"))
    (root / "content").mkdir()
    (root / "style").mkdir()
    for i in range(n):
        Image.fromarray(smooth_image(rng, content_px)).save(root / "content" / f"c{i:05d}.jpg", quality=90)
    for i in range(n_styles):
        Image.fromarray(smooth_image(rng, style_px)).save(root / "style" / f"s{i:03d}.jpg", quality=90)
    return root


def bench_files_ref(ref_vgg, ref_dec, device, root, style_px):
    contents = sorted((root / "content").iterdir())
    styles = sorted((root / "style").iterdir())
    rng = np.random.default_rng(0)
    assignment = [int(i) for i in rng.integers(0, len(styles), len(contents))]
    (root / "ref").mkdir(exist_ok=True)
    sync(device)
    t0 = time.perf_counter()
    ref_folder_loop(ref_vgg, ref_dec, device, contents, styles, root / "ref", style_px, assignment)
    sync(device)
    return len(contents) / (time.perf_counter() - t0)


def bench_files_ours(ours, device, root, style_px, batch, workers, precision, round_):
    cfg = StylizeConfig(
        content_dir=root / "content", style_dir=root / "style",
        output_dir=root / f"ours-{precision}-{round_}", style_size=style_px, batch_size=batch,
        workers=workers, device=str(device), output_format="jpg", progress=False,
        precision=precision,
    )  # fmt: skip
    summary = stylize_dataset(cfg, stylizer=copy.deepcopy(ours))
    return summary["written"] / summary["seconds"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n", type=int, default=16, help="content images per measurement")
    parser.add_argument("--styles", type=int, default=4, help="distinct style images")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="decoding workers (files mode)")
    parser.add_argument("--content-px", type=int, default=224)
    parser.add_argument("--style-px", type=int, nargs="+", default=[224, 512])
    parser.add_argument("--modes", nargs="+", default=["model", "files"], choices=["model", "files"])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"],
                        choices=sorted(PRECISIONS), help="stylebias dtypes to measure "
                        "(the reference always runs in fp32, as the public tool does)")
    parser.add_argument("--repeat", type=int, default=3, help="alternating rounds; the median "
                        "round of each side is reported (the machine may be shared)")
    parser.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    ours, ref_vgg, ref_dec, _ = make_networks(device)
    rows = []
    for style_px in args.style_px:
        for mode in args.modes:
            if mode == "model":
                inputs = model_inputs(device, args.n, args.styles, args.content_px, style_px)
                nets = {p: copy.deepcopy(ours).to(dtype=PRECISIONS[p]) for p in args.precisions}
            else:
                root = make_folder(args.n, args.styles, args.content_px, style_px)
            refs: list[float] = []
            mine_rounds: dict[str, list[float]] = {p: [] for p in args.precisions}
            for round_ in range(args.repeat):  # alternate the sides: shared-machine noise
                if mode == "model":
                    refs.append(bench_model_ref(ref_vgg, ref_dec, device, *inputs))
                else:
                    refs.append(bench_files_ref(ref_vgg, ref_dec, device, root, style_px))
                for precision in args.precisions:
                    if mode == "model":
                        mine_rounds[precision].append(
                            bench_model_ours(nets[precision], device, *inputs, args.batch_size))
                    else:
                        mine_rounds[precision].append(bench_files_ours(
                            ours, device, root, style_px, args.batch_size, args.workers,
                            precision, round_))  # fmt: skip
            ref = statistics.median(refs)
            for precision in args.precisions:
                mine = statistics.median(mine_rounds[precision])
                rows.append({"mode": mode, "content_px": args.content_px, "style_px": style_px,
                             "precision": precision, "reference_img_s": round(ref, 3),
                             "stylebias_img_s": round(mine, 3), "speedup": round(mine / ref, 2),
                             "reference_rounds": [round(r, 3) for r in refs],
                             "stylebias_rounds": [round(r, 3) for r in mine_rounds[precision]]})
                r = rows[-1]
                print(f"{mode:<6} content {r['content_px']} style {r['style_px']:>4} "
                      f"{precision}: reference(fp32) {r['reference_img_s']:7.2f} img/s  "
                      f"stylebias {r['stylebias_img_s']:7.2f} img/s  speedup {r['speedup']:5.2f}x",
                      flush=True)  # fmt: skip
    record = {
        "benchmark": "stylize",
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "device": str(device),
        "device_name": (torch.cuda.get_device_name(device) if device.type == "cuda"
                        else platform.processor()),
        "threads": torch.get_num_threads(),
        "n": args.n,
        "styles": args.styles,
        "batch_size": args.batch_size,
        "workers": args.workers,
        "repeat": args.repeat,
        "results": rows,
    }
    print(json.dumps(record, indent=2))
    if args.json:
        args.json.write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
