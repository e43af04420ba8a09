import json
import math

import pytest
import torch
import torch.nn.functional as F

from stylebias.augment import randconv
from stylebias.errors import InvalidArgumentError
from stylebias.layers import StyleLayer
from stylebias.training import METHODS, default_hparams, load_config, small_resnet, train
from stylebias.training.randconv import RandConvMethod
from tests.training.test_loop import cfg_for, weights


@pytest.fixture(autouse=True)
def _one_thread():
    """Width 4-8 networks: a second intra-op thread costs more than it gives (and on a busy
    2-core machine it made these tests 10-50x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make(hp=None, seed=0, **kw):
    torch.manual_seed(0)
    net = small_resnet(num_classes=3, width=4)
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    method = RandConvMethod(net, {**default_hparams("randconv"), **(hp or {})}, generator=gen, **kw)
    method.configure_optimizer()
    return method


def batch(b=6):
    x = torch.rand(b, 3, 12, 12, generator=torch.Generator().manual_seed(1))
    return x, torch.arange(b) % 3


def record_forwards(model):
    """The inputs and outputs of every forward of ``model``."""
    calls = []
    model.register_forward_hook(lambda m, args, out: calls.append((args[0].detach().clone(), out.detach().clone())))
    return calls


def test_registered_with_its_paper_defaults():
    assert METHODS.get("randconv") is RandConvMethod
    hp = default_hparams("randconv")
    assert hp["kernel_sizes"] == [1, 3, 5, 7] and hp["consistency"] is True and hp["consistency_weight"] == 10.0
    assert hp["randconv_p"] == 1.0 and hp["mixing"] is True


def test_consistency_views_go_through_one_forward_and_the_loss_is_the_reference_sum():
    method = make({"mixing": True, "randconv_p": 1.0, "consistency_weight": 10.0}, seed=4)
    calls = record_forwards(method.model)
    x, y = batch()
    logs = method.update((x, y))
    assert len(calls) == 1 and calls[0][0].shape[0] == 3 * len(x)  # one forward of the three views
    # the views are three independent draws from the method's generator, in order
    gen = torch.Generator().manual_seed(4)
    hp = default_hparams("randconv")
    want = torch.cat([randconv(x, [1, 3, 5, 7], mixing=True, p=1.0, mean=hp["data_mean"], std=hp["data_std"], generator=gen)
                      for _ in range(3)])
    torch.testing.assert_close(calls[0][0], want)
    # randconv_trainer.py: CE on the first view + w * (KL(p_clean||M) + KL(p_aug1||M) + KL(p_aug2||M)) / 3
    outputs, outputs1, outputs2 = calls[0][1].chunk(3)
    p_clean, p_aug1, p_aug2 = F.softmax(outputs, 1), F.softmax(outputs1, 1), F.softmax(outputs2, 1)
    p_mixture = torch.clamp((p_clean + p_aug1 + p_aug2) / 3.0, 1e-7, 1).log()
    inv_loss = (F.kl_div(p_mixture, p_clean, reduction="batchmean") + F.kl_div(p_mixture, p_aug1, reduction="batchmean")
                + F.kl_div(p_mixture, p_aug2, reduction="batchmean")) / 3.0
    ce = F.cross_entropy(outputs, y)
    assert logs["loss_cls"] == pytest.approx(ce.item(), rel=1e-5)
    assert logs["loss_consistency"] == pytest.approx(inv_loss.item(), rel=1e-4, abs=1e-7)
    assert logs["loss"] == pytest.approx(ce.item() + 10.0 * inv_loss.item(), rel=1e-5)
    assert logs["loss_consistency"] > 1e-6  # three different filters do change the prediction


def test_without_consistency_one_filtered_view_and_plain_cross_entropy():
    method = make({"consistency": False, "randconv_p": 1.0}, seed=2)
    calls = record_forwards(method.model)
    x, y = batch()
    logs = method.update((x, y))
    assert len(calls) == 1 and calls[0][0].shape == x.shape and not torch.equal(calls[0][0], x)
    assert set(logs) == {"loss"} and logs["loss"] == pytest.approx(F.cross_entropy(calls[0][1], y).item(), rel=1e-5)
    # p = 0: the batch is never filtered, this is ERM
    method = make({"consistency": False, "randconv_p": 0.0})
    calls = record_forwards(method.model)
    method.update((x, y))
    assert torch.equal(calls[0][0], x)


def test_randomness_comes_from_the_generator_only():
    x, y = batch()
    runs = []
    for global_seed in (0, 99):
        method = make(seed=None)  # no generator given: the method makes its own, seeded
        torch.manual_seed(global_seed)
        runs.append([method.update((x, y))["loss"] for _ in range(3)])
    assert runs[0] == runs[1]


def test_composes_with_a_style_layer():
    method = make({"consistency": True}, layer="mixstyle")
    layers = list(method.handle.layers.values())
    assert layers and all(isinstance(m, StyleLayer) for m in layers) and method.layer == "mixstyle"
    assert all(m.generator is method.generator for m in layers)  # one generator, checkpointed by the run
    fired = []
    for layer in layers:
        layer.register_forward_hook(lambda m, args, out: fired.append(args[0].shape[0]))
    x, y = batch()
    logs = method.update((x, y))
    assert fired and set(fired) == {3 * len(x)} and math.isfinite(logs["loss"])


@pytest.mark.parametrize("hp, message", [
    ({"kernel_sizes": [2, 3]}, "kernel_sizes.*odd"),
    ({"randconv_p": 2}, "randconv_p.*probability"),
    ({"consistency_weight": -1}, "consistency_weight.*>= 0"),
    ({"data_std": [0.2, 0.0, 0.2]}, "data_std.*positive"),
    ({"data_mean": [0.5]}, "data_mean.*3 numbers"),
    ({"consistency": "false"}, "'consistency' must be true or false"),
])
def test_bad_hparams_are_refused_by_name(hp, message):
    with pytest.raises(InvalidArgumentError, match=message):
        make(hp)


def test_interrupted_run_resumes_exactly(tmp_path, bundle, monkeypatch):
    hp = {"mixing": True}
    straight = train(cfg_for(tmp_path, "straight", method="randconv", hparams=hp), data=bundle)
    calls = {"n": 0}
    original = RandConvMethod.update

    def crash_after_five(self, batch):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt("killed")
        return original(self, batch)

    monkeypatch.setattr(RandConvMethod, "update", crash_after_five)
    with pytest.raises(KeyboardInterrupt):
        train(cfg_for(tmp_path, "resumed", method="randconv", hparams=hp), data=bundle)
    monkeypatch.undo()
    resumed = train(cfg_for(tmp_path, "resumed", method="randconv", hparams=hp), data=bundle)
    a, b = weights(straight.output_dir), weights(resumed.output_dir)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.final["loss"] == straight.final["loss"]
    assert resumed.final["loss_consistency"] == straight.final["loss_consistency"]


def test_train_cli_on_the_builtin_benchmark(tmp_path, capsys):
    from stylebias.cli import main

    args = ["train", "--method", "randconv", "--steps", "3", "--batch-size", "8",
            "--data", "shapes:n_per_class=4,val_per_class=2,test_per_class=4,cue_per_class=2",
            "--output-dir", str(tmp_path / "run"), "--no-progress", "--json",
            "--hparams", '{"model_width": 4, "mixing": true, "consistency_weight": 10}']
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["final"]["step"] == 3 and {"loss_cls", "loss_consistency"} <= set(result["final"])
    stored = json.loads((tmp_path / "run" / "hparams.json").read_text())
    assert stored["mixing"] is True and stored["consistency_weight"] == 10 and stored["kernel_sizes"] == [1, 3, 5, 7]


def test_list_methods_describes_randconv_by_its_docstring(capsys):
    from stylebias.cli import main

    assert main(["list", "methods", "--json"]) == 0
    rows = {r["name"]: r["summary"] for r in json.loads(capsys.readouterr().out)}
    assert rows["randconv"] == RandConvMethod.__doc__.strip().splitlines()[0]
    assert rows["erm"].startswith("Empirical risk minimisation")
    assert rows["mixstyle"].startswith("ERM with the mixstyle style layer: ")
    assert set(rows) == set(METHODS) and all(summary and "(no description)" not in summary for summary in rows.values())


def test_short_run_on_the_builtin_benchmark_raises_shape_bias(tmp_path):
    """The direction of RandConv's effect in a CPU budget of seconds: random filters scramble
    texture and colour but keep outlines, so decisions on cue-conflict images follow shape more
    often than ERM's (mean of 2 seeds; measured +0.2). Held-out sketch accuracy needs a longer
    run (ERM stays at chance at this budget)."""
    data = "shapes:n_per_class=20,val_per_class=2,test_per_class=4,cue_per_class=10"

    def shape_bias(method, seed):
        cfg = load_config(method=method, data=data, steps=60, batch_size=16, checkpoint_every=60, seed=seed,
                          output_dir=tmp_path / f"{method}-{seed}", progress=False, corruption_severities=[3],
                          hparams={"model_width": 8})
        return train(cfg).final["cue_conflict"]["shape_bias"]

    erm = [shape_bias("erm", s) for s in (0, 1)]
    rc = [shape_bias("randconv", s) for s in (0, 1)]
    assert sum(rc) / 2 > sum(erm) / 2 + 0.05, (rc, erm)
