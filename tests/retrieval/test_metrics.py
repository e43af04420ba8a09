"""CMC / mAP / mINP: hand-computed rankings, a re-expressed torchreid reference, chunking."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stylebias.errors import DataError, InvalidArgumentError, ShapeError
from stylebias.retrieval import evaluate, evaluate_features, pairwise_distance


def reference_market1501(distmat, q_pids, g_pids, q_camids, g_camids, max_rank, trapezoid=False):
    """torchreid's ``eval_market1501`` (Python version) re-expressed, plus mINP and the
    official Market-1501 trapezoid AP (layumi ``compute_mAP``). One query at a time.

    Differences kept on purpose: the argsort is stable (torchreid's default quicksort leaves the
    order of equal distances unspecified) and a CMC shorter than ``max_rank`` is padded with its
    last value, 1 (torchreid's Python version would fail on such ragged rows).
    """
    distmat = np.asarray(distmat, dtype=np.float64)
    num_q, num_g = distmat.shape
    max_rank = min(max_rank, num_g)
    indices = np.argsort(distmat, axis=1, kind="stable")
    cmcs, aps, inps = [], [], []
    for i in range(num_q):
        order = indices[i]
        keep = ~((g_pids[order] == q_pids[i]) & (g_camids[order] == q_camids[i]))
        raw = (g_pids[order][keep] == q_pids[i]).astype(np.int64)
        if not raw.any():
            continue
        cmc = np.minimum(raw.cumsum(), 1)[:max_rank]
        cmcs.append(np.pad(cmc, (0, max_rank - len(cmc)), constant_values=1))
        num_rel = raw.sum()
        hits = raw.cumsum()
        rows = np.flatnonzero(raw)  # 0-based ranks of the matches
        if trapezoid:
            ap = 0.0
            for k, r in enumerate(rows):
                precision = (k + 1) / (r + 1)
                old = k / r if r != 0 else 1.0
                ap += (old + precision) / 2 / num_rel
        else:
            ap = (hits / np.arange(1, len(raw) + 1) * raw).sum() / num_rel
        aps.append(ap)
        inps.append(hits[rows[-1]] / (rows[-1] + 1))
    assert cmcs, "no valid query"
    return np.mean(cmcs, axis=0), np.mean(aps), np.mean(inps), num_q - len(cmcs)


# Query 0: pid 1 cam 1; query 1: pid 2 cam 2 (only match is same-camera: skipped);
# query 2: pid 3 cam 2 (match at rank 1).
G_PIDS = np.array([1, 2, 1, 3, 1, 0])
G_CAMS = np.array([1, 2, 2, 1, 3, 2])
Q_PIDS = np.array([1, 2, 3])
Q_CAMS = np.array([1, 2, 2])
DIST = torch.tensor(
    [
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],  # kept ranking: neg, GOOD, neg, GOOD, distractor
        [0.5, 0.0, 0.4, 0.3, 0.2, 0.1],
        [0.9, 0.8, 0.7, 0.05, 0.6, 0.5],
    ]
)


def test_hand_computed_ranking():
    r = evaluate(DIST, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS, max_rank=6)
    assert r.num_queries == 3 and r.num_skipped == 1 and r.num_evaluated == 2
    # query 0: matches at kept ranks 2 and 4 -> AP = (1/2 + 2/4) / 2, INP = 2 / 4
    assert r.ap[0].item() == pytest.approx(0.5)
    assert r.inp[0].item() == pytest.approx(0.5)
    assert r.first_rank.tolist() == [2, 0, 1]
    assert torch.isnan(r.ap[1]) and torch.isnan(r.inp[1])
    assert r.ap[2].item() == 1.0 and r.inp[2].item() == 1.0
    assert r.mean_ap == pytest.approx(0.75)
    assert r.mean_inp == pytest.approx(0.75)
    assert r.cmc.tolist() == pytest.approx([0.5, 1, 1, 1, 1, 1])
    assert r.rank(1) == 0.5
    summary = r.to_dict()
    assert summary["rank1"] == 0.5 and summary["mAP"] == pytest.approx(0.75)
    assert "rank10" not in summary  # max_rank is only 6


def test_hand_computed_trapezoid_ap():
    r = evaluate(DIST, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS, ap_mode="trapezoid")
    # query 0: rank 2 -> (0/1 + 1/2)/2 ; rank 4 -> (1/3 + 2/4)/2 ; mean of the two
    ap0 = ((0 + 1 / 2) / 2 + (1 / 3 + 2 / 4) / 2) / 2
    assert r.ap[0].item() == pytest.approx(ap0)
    assert r.ap[2].item() == 1.0  # rank 1: (1 + 1) / 2
    assert r.mean_ap == pytest.approx((ap0 + 1) / 2)


def test_ties_keep_gallery_order():
    # all distances equal: the ranking is gallery order; index 2 is same-camera junk
    d = torch.zeros(1, 4)
    r = evaluate(d, [1], [2, 1, 1, 1], [1], [2, 2, 1, 3])
    assert r.first_rank.tolist() == [2]
    assert r.ap[0].item() == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert r.inp[0].item() == pytest.approx(2 / 3)
    r2 = evaluate(d[:, :2], [1], [1, 2], [1], [2, 2])  # a match first in gallery order wins the tie
    assert r2.rank(1) == 1.0


def test_same_camera_exclusion_changes_ranks():
    d = torch.tensor([[0.1, 0.2, 0.3]])
    with_junk = evaluate(d, [5], [5, 7, 5], [1], [1, 2, 2])
    assert with_junk.first_rank.tolist() == [2]  # entry 0 removed: neg, then the match
    assert with_junk.ap[0].item() == pytest.approx(0.5)
    other_cam = evaluate(d, [5], [5, 7, 5], [1], [3, 2, 2])
    assert other_cam.first_rank.tolist() == [1]
    assert other_cam.ap[0].item() == pytest.approx((1 + 2 / 3) / 2)


def test_no_valid_query_raises():
    with pytest.raises(DataError, match="none of the 1 queries"):
        evaluate(torch.rand(1, 3), [1], [1, 2, 3], [1], [1, 2, 3])


def _random_problem(seed, nq, ng, n_ids=6, n_cams=3, levels=4):
    rng = np.random.default_rng(seed)
    dist = rng.integers(0, levels, size=(nq, ng)).astype(np.float32)  # many ties
    return (
        dist,
        rng.integers(0, n_ids, nq),
        rng.integers(0, n_ids, ng),
        rng.integers(0, n_cams, nq),
        rng.integers(0, n_cams, ng),
    )


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("trapezoid", [False, True])
def test_matches_reference_on_random_inputs_with_ties(seed, trapezoid):
    dist, qp, gp, qc, gc = _random_problem(seed, nq=40, ng=30 + 7 * seed, levels=3 + seed)
    max_rank = 10
    cmc, m_ap, m_inp, skipped = reference_market1501(dist, qp, gp, qc, gc, max_rank, trapezoid)
    mode = "trapezoid" if trapezoid else "noninterpolated"
    r = evaluate(dist, qp, gp, qc, gc, max_rank, ap_mode=mode, chunk_size=16)
    assert r.num_skipped == skipped
    np.testing.assert_allclose(r.cmc.numpy(), cmc, rtol=0, atol=1e-12)
    assert r.mean_ap == pytest.approx(m_ap, rel=1e-12)
    assert r.mean_inp == pytest.approx(m_inp, rel=1e-12)


def test_matches_reference_with_continuous_distances_and_junk_identities():
    rng = np.random.default_rng(7)
    qf, gf = rng.normal(size=(50, 8)), rng.normal(size=(200, 8))
    qp, gp = rng.integers(1, 20, 50), rng.integers(-1, 20, 200)  # -1 and 0 in the gallery
    qc, gc = rng.integers(1, 7, 50), rng.integers(1, 7, 200)
    dist = pairwise_distance(torch.from_numpy(qf), torch.from_numpy(gf)).numpy()
    cmc, m_ap, m_inp, skipped = reference_market1501(dist, qp, gp, qc, gc, 50)
    r = evaluate(dist, qp, gp, qc, gc)
    assert r.num_skipped == skipped
    np.testing.assert_allclose(r.cmc.numpy(), cmc, atol=1e-12)
    assert (r.mean_ap, r.mean_inp) == pytest.approx((m_ap, m_inp), rel=1e-12)


def test_max_rank_is_clipped_to_gallery_size():
    r = evaluate(DIST, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS, max_rank=50)
    assert r.cmc.numel() == 6
    with pytest.raises(ShapeError, match="max_rank"):
        r.rank(10)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_chunked_features_equal_full_matrix_exactly(metric):
    g = torch.Generator().manual_seed(3)
    # small integers: every distance is exact, so any chunking must give identical bits
    qf = torch.randint(-3, 4, (37, 6), generator=g).float()
    gf = torch.randint(-3, 4, (53, 6), generator=g).float()
    qp, gp = torch.randint(0, 8, (37,), generator=g), torch.randint(0, 8, (53,), generator=g)
    qc, gc = torch.randint(0, 3, (37,), generator=g), torch.randint(0, 3, (53,), generator=g)
    full = evaluate(pairwise_distance(qf, gf, metric), qp, gp, qc, gc, 20, chunk_size=10_000)
    for chunk in (1, 5, 37):
        part = evaluate_features(qf, gf, qp, gp, qc, gc, 20, metric=metric, chunk_size=chunk)
        for name in ("cmc", "ap", "inp", "first_rank"):
            assert torch.equal(getattr(part, name).nan_to_num(-1), getattr(full, name).nan_to_num(-1))
        assert (part.mean_ap, part.mean_inp, part.num_skipped) == (
            full.mean_ap,
            full.mean_inp,
            full.num_skipped,
        )


def test_chunked_random_features_equal_full():
    g = torch.Generator().manual_seed(4)
    qf, gf = torch.randn(64, 16, generator=g), torch.randn(300, 16, generator=g)
    qp, gp = torch.randint(0, 30, (64,), generator=g), torch.randint(0, 30, (300,), generator=g)
    qc, gc = torch.randint(0, 6, (64,), generator=g), torch.randint(0, 6, (300,), generator=g)
    full = evaluate(pairwise_distance(qf, gf), qp, gp, qc, gc)
    part = evaluate_features(qf, gf, qp, gp, qc, gc, chunk_size=9)
    assert torch.equal(part.cmc, full.cmc)
    assert part.mean_ap == full.mean_ap and part.mean_inp == full.mean_inp


def test_bad_inputs():
    with pytest.raises(ShapeError, match="distmat"):
        evaluate(torch.rand(3), [1], [1], [1], [1])
    with pytest.raises(ShapeError, match="g_pids must have one entry per gallery item"):
        evaluate(DIST, Q_PIDS, G_PIDS[:5], Q_CAMS, G_CAMS)
    with pytest.raises(TypeError, match="integers"):
        evaluate(DIST, Q_PIDS.astype(float), G_PIDS, Q_CAMS, G_CAMS)
    with pytest.raises(InvalidArgumentError, match="ap_mode"):
        evaluate(DIST, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS, ap_mode="interpolated")
    with pytest.raises(InvalidArgumentError, match="chunk_size"):
        evaluate(DIST, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS, chunk_size=0)
    with pytest.raises(InvalidArgumentError, match="max_rank"):
        evaluate(DIST, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS, max_rank=0)
    nan = DIST.clone()
    nan[0, 0] = float("nan")
    with pytest.raises(DataError, match="NaN"):
        evaluate(nan, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS)


def test_integer_float64_and_grad_distances():
    d = torch.tensor([[3, 1, 2, 1]])
    r = evaluate(d, [7], [7, 7, 1, 2], [0], [1, 2, 1, 1], np.int64(4))
    # order by value then index: col1 (match), col3, col2, col0 (match)
    assert r.first_rank.tolist() == [1] and r.ap[0].item() == pytest.approx((1 + 2 / 4) / 2)
    r64 = evaluate(d.double().requires_grad_(), [7], [7, 7, 1, 2], [0], [1, 2, 1, 1])
    assert r64.mean_ap == r.mean_ap
