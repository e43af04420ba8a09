import os

import torch

from stylebias.training import load_config, train
from stylebias.training.dg import format_table, leave_one_domain_out, run_dir
from tests.conftest import run_ranks
from tests.training.conftest import tiny_bundle

DOMAINS = ["a", "b", "c"]


def data_for(cfg):
    return tiny_bundle(seed=DOMAINS.index(cfg.test_domains[0]))


def test_leave_one_domain_out_sweep_tables_and_resumes(tmp_path, monkeypatch):
    base = load_config(steps=4, batch_size=16, checkpoint_every=2, progress=False, hparams={"model_width": 4})
    result = leave_one_domain_out(base, DOMAINS, ["erm", "mixstyle"], [0, 1], tmp_path, data_fn=data_for)
    assert len(result.runs) == 2 * 3 * 2
    assert {r["held_out"] for r in result.runs} == set(DOMAINS)
    for method in ("erm", "mixstyle"):
        row = result.table[method]
        assert list(row) == [*DOMAINS, "average"]
        values = [r["selected"]["test_acc"] for r in result.runs if r["method"] == method and r["held_out"] == "b"]
        assert abs(row["b"]["mean"] - sum(values) / 2) < 1e-12 and row["b"]["n"] == 2
    text = format_table(result.table)
    assert text.splitlines()[0] == "| method | a | b | c | average |" and "±" in text
    # a second sweep reads the finished runs back instead of training again
    import stylebias.training.loop as loop

    monkeypatch.setattr(loop, "BatchStream", lambda *a, **k: (_ for _ in ()).throw(AssertionError("retrained")))
    again = leave_one_domain_out(base, DOMAINS, ["erm", "mixstyle"], [0, 1], tmp_path, data_fn=data_for)
    assert again.table == result.table


def test_run_dir_depends_on_the_config():
    cfg = load_config(method="erm", seed=1, test_domains=["a"])
    other = load_config(method="erm", seed=1, test_domains=["a"], steps=5)
    assert run_dir("x", cfg).name.startswith("erm-a-s1-")
    assert run_dir("x", cfg) != run_dir("x", other)


def _worker(rank, world, port, results, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    cfg = load_config(method="mixstyle", steps=4, batch_size=8, checkpoint_every=2, output_dir=out,
                      progress=False, hparams={"model_width": 4, "p": 1.0})
    result = train(cfg, data=tiny_bundle())
    import torch.distributed as dist

    flat = torch.cat([p.detach().flatten() for p in result.model.parameters()])
    results[rank] = (len(result.history), flat)
    dist.destroy_process_group()


def test_ddp_run_under_torchrun_environment(tmp_path):
    results = run_ranks(_worker, 2, tmp_path / "ddp")
    (evals0, weights0), (evals1, weights1) = results[0], results[1]
    assert evals0 == 2 and evals1 == 0  # only rank 0 evaluates and logs
    torch.testing.assert_close(weights0, weights1)  # replicas stay in sync
    assert (tmp_path / "ddp" / "done").exists()


IMAGE_LEVEL = ("randconv", "augmix", "prime", "robust_distill")


def _image_level_worker(rank, world, port, results, out):
    import os

    import torch.distributed as dist

    from tests.training.conftest import tiny_bundle

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    for name in IMAGE_LEVEL:
        cfg = load_config(method=name, steps=3, batch_size=8, checkpoint_every=3, output_dir=out / name,
                          progress=False, hparams={"model_width": 4})
        result = train(cfg, data=tiny_bundle())
        results[(rank, name)] = (len(result.history), torch.cat([p.detach().flatten() for p in result.model.parameters()]))
    dist.destroy_process_group()


def test_image_level_methods_keep_ddp_replicas_in_sync(tmp_path):
    """Several forwards per step (three views, teacher and student) under one DDP all-reduce."""
    results = run_ranks(_image_level_worker, 2, tmp_path)
    for name in IMAGE_LEVEL:
        (evals0, weights0), (evals1, weights1) = results[(0, name)], results[(1, name)]
        assert evals0 == 1 and evals1 == 0, name  # rank 0 evaluates alone
        torch.testing.assert_close(weights0, weights1, msg=name)
        assert (tmp_path / name / "done").exists()
