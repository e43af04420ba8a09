"""Time stylebias.retrieval.evaluate against a torchreid-style reference (numpy, per query).

Market-1501 sized problem by default: 3368 queries x 15913 gallery images, 750 identities seen
by 6 cameras, ~2800 distractors (identity 0) in the gallery, 512-D features drawn around an
identity centre so that the metrics are neither 0 nor 1. Each measurement runs in a fresh
process so that its peak resident memory (CPU) is its own.

    python benchmarks/retrieval.py            # Market-1501 sizes, CPU
    python benchmarks/retrieval.py --quick    # 600 x 3000, a few seconds
    python benchmarks/retrieval.py --device cuda

Measured:
  reference      torchreid's ``eval_market1501`` re-expressed below (numpy argsort of the whole
                 matrix and a Python loop over queries, vectorised inside each query: faster
                 than torchreid's Python version) on a full distance matrix built beforehand
                 (its build time is reported as distance_matrix_seconds).
  ours_matrix    ``evaluate(distmat)`` on the same full matrix (chunked over query rows).
  ours_features  ``evaluate_features(qf, gf)``: distances in blocks, never the full matrix;
                 compared with matrix build + reference evaluation.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import resource
import time

import numpy as np
import torch

from stylebias.retrieval import evaluate, evaluate_features, pairwise_distance


def make_problem(num_q: int, num_g: int, dim: int, seed: int = 0):
    """Random features with Market-like identity/camera structure (torch, CPU)."""
    g = torch.Generator().manual_seed(seed)
    num_ids = max(2, round(750 * num_q / 3368))
    num_distractors = round(num_g * 2793 / 15913)
    centres = 0.45 * torch.randn(num_ids + 1, dim, generator=g)  # mAP about 0.5, rank-1 0.9
    q_pids = torch.randint(1, num_ids + 1, (num_q,), generator=g)
    g_pids = torch.cat(
        [
            torch.randint(1, num_ids + 1, (num_g - num_distractors,), generator=g),
            torch.zeros(num_distractors, dtype=torch.int64),
        ]
    )
    q_cams = torch.randint(1, 7, (num_q,), generator=g)
    g_cams = torch.randint(1, 7, (num_g,), generator=g)
    qf = centres[q_pids] + torch.randn(num_q, dim, generator=g)
    gf = centres[g_pids] + torch.randn(num_g, dim, generator=g)
    gf[g_pids == 0] = torch.randn(num_distractors, dim, generator=g)
    return qf, gf, q_pids, g_pids, q_cams, g_cams


def reference_eval(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=50):
    """torchreid's ``eval_market1501`` re-expressed: whole-matrix argsort, loop over queries."""
    num_q, num_g = distmat.shape
    max_rank = min(max_rank, num_g)
    indices = np.argsort(distmat, axis=1)
    matches = (g_pids[indices] == q_pids[:, None]).astype(np.int32)
    all_cmc, all_ap = [], []
    for i in range(num_q):
        order = indices[i]
        keep = ~((g_pids[order] == q_pids[i]) & (g_camids[order] == q_camids[i]))
        raw = matches[i][keep]
        if not raw.any():
            continue
        cmc = raw.cumsum()
        cmc[cmc > 1] = 1
        all_cmc.append(cmc[:max_rank])
        hits = raw.cumsum()
        all_ap.append((hits / np.arange(1.0, len(raw) + 1) * raw).sum() / raw.sum())
    return np.asarray(all_cmc, dtype=np.float32).mean(0), float(np.mean(all_ap))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _run_method(method, args, qf, gf, qp, gp, qc, gc, distmat):
    """One timed call; returns (cmc list, mAP)."""
    if method == "reference":
        cmc, m_ap = reference_eval(distmat, qp.numpy(), gp.numpy(), qc.numpy(), gc.numpy())
        return cmc.tolist(), m_ap
    if method == "ours_matrix":
        r = evaluate(distmat, qp, gp, qc, gc, chunk_size=args["chunk_size"])
    else:
        r = evaluate_features(qf, gf, qp, gp, qc, gc, chunk_size=args["chunk_size"])
    return r.cmc.tolist(), r.mean_ap


def _measure(method: str, args: dict, queue) -> None:
    torch.set_num_threads(args["threads"])
    device = torch.device(args["device"])
    qf, gf, qp, gp, qc, gc = make_problem(args["num_q"], args["num_g"], args["dim"])
    qf, gf = qf.to(device), gf.to(device)
    # ours_matrix and reference time the evaluation alone, on one matrix built beforehand
    distmat, distance_seconds = None, None
    if method != "ours_features":
        start = time.perf_counter()
        distmat = pairwise_distance(qf, gf, chunk_size=1024)
        distance_seconds = time.perf_counter() - start
        if method == "reference":
            distmat = distmat.cpu().numpy()
    warm = slice(0, 64)  # first call pays for lazy initialisation: not timed
    _run_method(method, args, qf[warm], gf, qp[warm], gp, qc[warm], gc,
                None if distmat is None else distmat[warm])  # fmt: skip
    base = _peak_mb()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args["repeats"]):
        start = time.perf_counter()
        cmc, m_ap = _run_method(method, args, qf, gf, qp, gp, qc, gc, distmat)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    out = {
        "method": method,
        "seconds": min(times),
        "seconds_all": times,
        "distance_matrix_seconds": distance_seconds,
        "peak_rss_mb": _peak_mb(),
        "peak_rss_increase_mb": _peak_mb() - base,
        "mAP": m_ap,
        "rank1": cmc[0],
    }
    if device.type == "cuda":
        out["cuda_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    queue.put(out)


def run_in_child(method: str, args: dict) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(method, args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-query", type=int, default=3368)
    parser.add_argument("--num-gallery", type=int, default=15913)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--chunk-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the minimum is kept")
    parser.add_argument("--quick", action="store_true", help="600 x 3000 instead")
    parser.add_argument("--skip-reference", action="store_true")
    ns = parser.parse_args()
    if ns.quick:
        ns.num_query, ns.num_gallery = 600, 3000
    args = {
        "num_q": ns.num_query,
        "num_g": ns.num_gallery,
        "dim": ns.dim,
        "chunk_size": ns.chunk_size,
        "threads": ns.threads,
        "device": ns.device,
        "repeats": ns.repeats,
    }
    methods = ["ours_features", "ours_matrix"] + ([] if ns.skip_reference else ["reference"])
    rows = {m: run_in_child(m, args) for m in methods}
    print(f"{'method':<15} {'seconds':>8} {'matrix s':>9} {'peak RSS MB':>12} {'+MB':>8} "
          f"{'mAP':>8} {'rank1':>7}")
    for r in rows.values():
        built = "-" if r["distance_matrix_seconds"] is None else f"{r['distance_matrix_seconds']:.3f}"
        print(
            f"{r['method']:<15} {r['seconds']:8.3f} {built:>9} {r['peak_rss_mb']:12.0f} "
            f"{r['peak_rss_increase_mb']:8.0f} {r['mAP']:8.4f} {r['rank1']:7.4f}"
        )
    report = {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "device": ns.device if ns.device == "cpu" else torch.cuda.get_device_name(),
        "threads": ns.threads,
        "shapes": {"query": [ns.num_query, ns.dim], "gallery": [ns.num_gallery, ns.dim]},
        "chunk_size": ns.chunk_size,
        "results": rows,
    }
    if "reference" in rows:
        ref = rows["reference"]
        pipeline = ref["seconds"] + ref["distance_matrix_seconds"]  # matrix, then evaluation
        report["speedup_features_vs_reference_pipeline"] = pipeline / rows["ours_features"]["seconds"]
        report["speedup_matrix_vs_reference"] = ref["seconds"] / rows["ours_matrix"]["seconds"]
        report["max_abs_mAP_difference"] = max(
            abs(rows[m]["mAP"] - ref["mAP"]) for m in ("ours_features", "ours_matrix")
        )
        print(
            f"speed-up: evaluate(distmat) vs reference {report['speedup_matrix_vs_reference']:.2f}x; "
            f"evaluate_features vs matrix + reference "
            f"{report['speedup_features_vs_reference_pipeline']:.2f}x; "
            f"|mAP diff| <= {report['max_abs_mAP_difference']:.2e}"
        )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
