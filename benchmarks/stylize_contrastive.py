"""Images per second of the contrastive (SANet) stylizer against AdaIN and against the
reference's one-image loop, side by side in one process.

All sides use random, seeded weights (speed does not depend on the values) on the same
inputs and device:

- ``reference``: HalbertCH/IEContraAST ``Eval.py``, re-expressed below: for every (content,
  style) pair, encode both to relu4_1 and relu5_1, run the SANet transform (softmax of a
  ``bmm``, as ``net.py``) and decode; one image at a time, fp32 only (as the script runs);
- ``contrastive``: :class:`stylebias.stylize.ContrastiveStylizer`, styles encoded once
  (``encode_style``), contents in batches (fused attention);
- ``adain``: :class:`stylebias.stylize.AdaINStylizer` the same way: what the attention costs
  over AdaIN's statistics.

Usage::

    python benchmarks/stylize_contrastive.py                   # CPU, 256-px contents and styles
    python benchmarks/stylize_contrastive.py --device cuda --n 256 --batch-size 32
    python benchmarks/stylize_contrastive.py --n 2 --size 32 --repeat 1   # a smoke run

Prints a table and a JSON record (torch version, device, shapes, images/s, ratios). The
figures only mean something on a quiet machine.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

from stylebias.stylize import AdaINStylizer, ContrastiveStylizer
from stylebias.stylize.dataset import PRECISIONS
from stylebias.stylize.network import build_decoder, build_vgg
from stylebias.stylize.sanet import Transform


# ---- reference (IEContraAST net.py SANet/Transform and Eval.py's loop) -----------------------
def ref_mean_variance_norm(feat, eps=1e-5):
    n, c = feat.size()[:2]
    var = feat.view(n, c, -1).var(dim=2) + eps
    mean = feat.view(n, c, -1).mean(dim=2).view(n, c, 1, 1)
    return (feat - mean) / var.sqrt().view(n, c, 1, 1)


def ref_sanet(m, content, style):
    f = m.f(ref_mean_variance_norm(content))
    g = m.g(ref_mean_variance_norm(style))
    h_ = m.h(style)
    b, c, h, w = f.size()
    f = f.view(b, -1, w * h).permute(0, 2, 1)
    b, c, h, w = g.size()
    s = torch.softmax(torch.bmm(f, g.view(b, -1, w * h)), dim=-1)
    b, c, h, w = h_.size()
    o = torch.bmm(h_.view(b, -1, w * h), s.permute(0, 2, 1))
    b, c, h, w = content.size()
    return m.out_conv(o.view(b, c, h, w)) + content


def ref_transform(t, c4, s4, c5, s5):
    up = nn.Upsample(size=(c4.size()[2], c4.size()[3]), mode="nearest")
    return t.merge_conv(t.merge_conv_pad(ref_sanet(t.sanet4_1, c4, s4) + up(ref_sanet(t.sanet5_1, c5, s5))))


class RefEval:
    """Eval.py's networks: enc_1..enc_4 in a row, enc_5, the transform, the decoder."""

    def __init__(self, vgg, decoder, transform, device):
        layers = list(vgg.children())
        self.enc_4 = nn.Sequential(*layers[:31]).to(device).eval()
        self.enc_5 = nn.Sequential(*layers[31:44]).to(device).eval()
        self.decoder, self.transform = decoder.to(device).eval(), transform.to(device).eval()

    def __call__(self, content, style):
        c4 = self.enc_4(content)
        c5 = self.enc_5(c4)
        s4 = self.enc_4(style)
        s5 = self.enc_5(s4)
        return self.decoder(ref_transform(self.transform, c4, s4, c5, s5))


# ---- helpers ----------------------------------------------------------------------------------
def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_networks(device: torch.device):
    torch.manual_seed(0)
    vgg, dec, transform = build_vgg(), build_decoder(), Transform(512)
    contrastive = ContrastiveStylizer(copy.deepcopy(vgg), copy.deepcopy(dec), copy.deepcopy(transform))
    adain = AdaINStylizer(copy.deepcopy(vgg), copy.deepcopy(dec))
    return contrastive.to(device), adain.to(device), RefEval(vgg, dec, transform, device)


def inputs(device, n, n_styles, px):
    gen = torch.Generator().manual_seed(1)
    contents = torch.rand(n, 3, px, px, generator=gen).to(device)
    styles = torch.rand(n_styles, 3, px, px, generator=gen).to(device)
    return contents, styles, torch.randint(n_styles, (n,), generator=gen)


def bench_reference(ref, device, contents, styles, assignment):
    n = contents.shape[0]
    with torch.no_grad():
        ref(contents[:1], styles[:1])  # warm-up
        sync(device)
        t0 = time.perf_counter()
        for i in range(n):
            s = int(assignment[i])
            ref(contents[i : i + 1], styles[s : s + 1])
        sync(device)
    return n / (time.perf_counter() - t0)


def bench_batched(net, device, contents, styles, assignment, batch):
    n, n_styles = contents.shape[0], styles.shape[0]
    with torch.inference_mode():
        net(contents[:batch], net.encode_style(styles[:1]))  # warm-up
        sync(device)
        t0 = time.perf_counter()
        codes = [net.encode_style(styles[s : s + 1]) for s in range(n_styles)]  # once per style
        for a in range(0, n, batch):
            idx = assignment[a : a + batch].tolist()
            net(contents[a : a + batch], net.cat_codes([codes[s] for s in idx], contents.shape[-2:]))
        sync(device)
    return n / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n", type=int, default=16, help="content images per measurement")
    parser.add_argument("--styles", type=int, default=4, help="distinct style images")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--size", type=int, default=256, help="content and style side, px")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=sorted(PRECISIONS),
                        help="stylebias dtypes (the reference always runs in fp32, as Eval.py does)")
    parser.add_argument("--repeat", type=int, default=3, help="alternating rounds; the median "
                        "round of each side is reported (the machine may be shared)")
    parser.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    contrastive, adain, ref = make_networks(device)
    data = inputs(device, args.n, args.styles, args.size)
    nets = {(name, p): copy.deepcopy(net).to(dtype=PRECISIONS[p])
            for name, net in (("contrastive", contrastive), ("adain", adain)) for p in args.precisions}  # fmt: skip
    rounds: dict[tuple[str, str], list[float]] = {("reference", "fp32"): [], **{k: [] for k in nets}}
    for _ in range(args.repeat):  # alternate the sides: shared-machine noise hits all alike
        rounds[("reference", "fp32")].append(bench_reference(ref, device, *data))
        for key, net in nets.items():
            rounds[key].append(bench_batched(net, device, *data, args.batch_size))
    speed = {key: statistics.median(values) for key, values in rounds.items()}
    ref_speed = speed[("reference", "fp32")]
    rows = []
    for precision in args.precisions:
        ours, base = speed[("contrastive", precision)], speed[("adain", precision)]
        rows.append({"precision": precision, "size": args.size,
                     "reference_img_s": round(ref_speed, 3), "contrastive_img_s": round(ours, 3),
                     "adain_img_s": round(base, 3), "contrastive_vs_reference": round(ours / ref_speed, 2),
                     "contrastive_vs_adain": round(ours / base, 2),
                     "rounds": {name: [round(v, 3) for v in rounds[(name, p)]]
                                for name, p in rounds if p in (precision, "fp32") and
                                (name == "reference" or p == precision)}})  # fmt: skip
        r = rows[-1]
        print(f"{precision}  {args.size}px: reference(fp32, one at a time) {r['reference_img_s']:8.2f} img/s  "
              f"contrastive {r['contrastive_img_s']:8.2f} img/s ({r['contrastive_vs_reference']:.2f}x the reference)  "
              f"adain {r['adain_img_s']:8.2f} img/s (contrastive/adain {r['contrastive_vs_adain']:.2f})", flush=True)
    record = {
        "benchmark": "stylize_contrastive",
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
        "threads": torch.get_num_threads(),
        "n": args.n,
        "styles": args.styles,
        "batch_size": args.batch_size,
        "repeat": args.repeat,
        "results": rows,
    }
    print(json.dumps(record, indent=2))
    if args.json:
        args.json.write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
