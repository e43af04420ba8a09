"""Time forward+backward and memory of the style layers against the published references.

The references (tests/functional/reference.py: the papers' code re-expressed with the random
draws passed in) and stylebias run on the same ResNet-sized activations with the same
permutation and mixing weights, interleaved in one process, so machine noise hits both alike.

    python benchmarks/layers.py                 # CPU, batch 32, ResNet-50 stage 1-3 sizes
    python benchmarks/layers.py --device cuda --batch 128

Prints a table and a JSON record (torch version, device, shapes, times, ratios). Memory is
CUDA peak allocation on a GPU and, on the CPU, the bytes autograd keeps for the backward
pass (saved tensors plus the output), which is what limits batch size in training.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests/functional/reference.py
from tests.functional import reference as ref  # noqa: E402

from stylebias import functional as F  # noqa: E402

SHAPES = {"layer1": (256, 56, 56), "layer2": (512, 28, 28), "layer3": (1024, 14, 14)}


def cases(batch: int, device: torch.device):
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(batch, generator=g).to(device)
    lam = torch.distributions.Beta(0.1, 0.1).sample((batch,)).to(device)
    return {
        "mixstyle": (lambda x: ref.ref_mixstyle(x, perm, lam), lambda x: F.mixstyle(x, perm, lam)),
        "padain": (lambda x: ref.ref_permuted_adain(x, perm), lambda x: F.permuted_adain(x, perm)),
        "efdmix": (lambda x: ref.ref_efdmix(x, perm, lam), lambda x: F.efdmix(x, perm, lam)),
        "dsu": None,  # noise shapes depend on C: built per shape below
    }


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def step(fn, x, grad, backward=True):
    xx = x.detach().requires_grad_(backward)
    out = fn(xx)
    if backward:
        out.backward(grad)
    return out


def time_pair(fns, x, grad, device, reps, backward=True):
    for fn in fns:  # warm-up
        step(fn, x, grad, backward)
    times = [[] for _ in fns]
    for _ in range(reps):
        for i, fn in enumerate(fns):  # interleaved
            sync(device)
            t0 = time.perf_counter()
            step(fn, x, grad, backward)
            sync(device)
            times[i].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def memory(fn, x, grad, device):
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step(fn, x, grad)
        sync(device)
        return torch.cuda.max_memory_allocated() - base
    seen: dict[int, int] = {}

    def pack(t):
        seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    xx = x.detach().requires_grad_()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(xx)
    seen.pop(xx.untyped_storage().data_ptr(), None)  # the input exists anyway
    return sum(seen.values()) + out.untyped_storage().nbytes()


def bandwidth_bound(x, reps, device):
    """One read pass (a plain reduction) plus one read-write pass over x: a forward's floor."""
    scale = torch.ones(x.shape[0], x.shape[1], 1, 1, device=device)

    def bound(t):
        t.sum(dim=(2, 3))
        return torch.addcmul(scale, t, scale)

    return time_pair([bound], x, None, device, reps, backward=False)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--stages", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--json", type=Path, help="also write the JSON record here")
    args = parser.parse_args()
    device = torch.device(args.device)
    record = {
        "torch": torch.__version__, "device": str(device), "batch": args.batch,
        "threads": torch.get_num_threads(), "machine": platform.processor() or platform.machine(),
        "results": [],
    }
    if device.type == "cuda":
        record["gpu"] = torch.cuda.get_device_name(device)
    print(f"torch {torch.__version__} on {device}, batch {args.batch}, median of {args.reps}")
    print(f"{'layer':<9}{'stage':<8}{'shape':<18}{'ref ms':>9}{'ours ms':>9}{'ratio':>7}"
          f"{'ref MB':>9}{'ours MB':>9}{'fwd/bound':>10}")
    for stage in args.stages:
        c, h, w = SHAPES[stage]
        x = torch.randn(args.batch, c, h, w, device=device) * 2 + 0.5
        grad = torch.randn_like(x)
        pairs = cases(args.batch, device)
        g = torch.Generator().manual_seed(1)
        noise = torch.randn(2, args.batch, c, generator=g).to(device)
        pairs["dsu"] = (lambda t: ref.ref_dsu(t, noise[0], noise[1]), lambda t: F.dsu(t, noise[0], noise[1]))
        bound = bandwidth_bound(x, args.reps, device)
        for name, (reference, ours) in pairs.items():
            t_ref, t_ours = time_pair([reference, ours], x, grad, device, args.reps)
            (t_fwd,) = time_pair([ours], x, grad, device, args.reps, backward=False)
            m_ref, m_ours = memory(reference, x, grad, device), memory(ours, x, grad, device)
            row = {
                "layer": name, "stage": stage, "shape": [args.batch, c, h, w],
                "ref_ms": t_ref * 1e3, "ours_ms": t_ours * 1e3, "time_ratio": t_ours / t_ref,
                "ref_mb": m_ref / 2**20, "ours_mb": m_ours / 2**20, "memory_ratio": m_ours / m_ref,
                "forward_ms": t_fwd * 1e3, "bound_ms": bound * 1e3, "forward_over_bound": t_fwd / bound,
            }
            record["results"].append(row)
            print(f"{name:<9}{stage:<8}{str(tuple(x.shape)):<18}{row['ref_ms']:9.1f}{row['ours_ms']:9.1f}"
                  f"{row['time_ratio']:7.2f}{row['ref_mb']:9.0f}{row['ours_mb']:9.0f}{row['forward_over_bound']:10.2f}")
    for name in ("mixstyle", "padain", "efdmix", "dsu"):
        ratios = [r["time_ratio"] for r in record["results"] if r["layer"] == name]
        record.setdefault("summary", {})[name] = {"time_ratio_geomean": statistics.geometric_mean(ratios)}
    print(json.dumps(record["summary"]))
    if args.json:
        args.json.write_text(json.dumps(record, indent=2))
    print(json.dumps(record))


if __name__ == "__main__":
    main()
