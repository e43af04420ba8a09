"""Shape-texture debiased training (method ``debiased``) against the reference's recipe.

The reference (LiYingwei/ShapeTextureDebiasedTraining, ``models/AdaIN.py`` and
``imagenet.py``) pairs each image with ``image[torch.randperm(n)]``, appends the stylized
copies to the batch and computes ``mixup_criterion``:
``(1 - lam) * CE(out, label) + lam * CE(out, label_style)`` per sample with ``lam = 0`` for the
originals and ``1 - label_gamma`` for the copies, then the mean. The tests re-express that.
"""

import json

import pytest
import torch
from torch import nn
from torch.nn.functional import cross_entropy

from stylebias.errors import InvalidArgumentError, MissingFileError
from stylebias.functional import adain
from stylebias.layers import STYLE_LAYERS
from stylebias.models import build_classifier
from stylebias.stylize.augment import sample_fraction
from stylebias.training import load_config, train
from stylebias.training.debiased import DebiasedTraining
from stylebias.training.hparams import default_hparams
from tests.conftest import run_ranks
from tests.training.conftest import tiny_bundle


def _method(stylizer=adain, seed=0, layer=None, **hp):
    torch.manual_seed(0)
    net = build_classifier("small_resnet", 3, width=4)
    method = DebiasedTraining(net, {**default_hparams("debiased"), "stylizer": stylizer, **hp}, layer=layer,
                              generator=torch.Generator().manual_seed(seed))
    method.configure_optimizer()
    return method.train()


def _batch(n=6, size=12):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(7)), torch.arange(n) % 3


def _record_forward(method):
    """Inputs and logits of every forward of the network."""
    seen = []
    method.model.register_forward_hook(lambda mod, inp, out: seen.append((inp[0].detach().clone(), out.detach().clone())))
    return seen


def test_the_batch_is_the_originals_and_partner_stylized_copies_with_the_reference_loss():
    pairs = []

    def transfer(content, style):
        pairs.append((content.clone(), style.clone()))
        return adain(content, style)

    method = _method(transfer, style_fraction=0.5, label_smoothing=0.1)
    seen = _record_forward(method)
    x, y = _batch()
    logs = method.update((x, y))
    # the draws, re-made from a generator of the same seed: the partners, then which images
    g = torch.Generator().manual_seed(0)
    partner = torch.randperm(6, generator=g)
    index = sample_fraction(6, 0.5, g)
    texture = partner[index]
    assert index.numel() == 3 and logs["stylized"] == 3.0 and not torch.equal(texture, index)
    torch.testing.assert_close(pairs[0][0], x[index])  # shape sources
    torch.testing.assert_close(pairs[0][1], x[texture])  # texture sources: the partners
    (inputs, logits), = seen  # one forward for originals and copies together
    copies = (x[index] + 0.5 * (adain(x[index], x[texture]) - x[index])).clamp(0, 1)  # style_alpha 0.5
    torch.testing.assert_close(inputs, torch.cat([x, copies]))
    lam = torch.cat([torch.zeros(6), torch.full((3,), 1 - 0.8)])  # label_mix_alpha = 1 - label_gamma
    ce = lambda t: cross_entropy(logits, t, reduction="none", label_smoothing=0.1)  # noqa: E731
    reference = ((1 - lam) * ce(torch.cat([y, y[index]])) + lam * ce(torch.cat([y, y[texture]]))).mean()
    assert logs["loss"] == pytest.approx(reference.item(), rel=1e-5)


def test_every_image_gets_a_copy_by_default_and_the_pairing_comes_from_the_generator():
    x, y = _batch()

    def inputs(seed, global_seed):
        method = _method(seed=seed)
        seen = _record_forward(method)
        torch.manual_seed(global_seed)
        method.update((x, y))
        return seen[0][0]

    a = inputs(0, global_seed=1)
    assert a.shape[0] == 12  # style_fraction 1.0: the reference's replace=False batch of 2B
    assert torch.equal(a, inputs(0, global_seed=2))  # the global RNG plays no part
    assert not torch.equal(a, inputs(5, global_seed=1))


class _ModuleTransfer(nn.Module):
    """A callable stylizer with parameters of its own (it must not train)."""

    def __init__(self):
        super().__init__()
        self.strength = nn.Parameter(torch.tensor(0.9))

    def forward(self, content, style):
        return content + self.strength * (adain(content, style) - content)


@pytest.mark.parametrize("kind", ["adain_files", "module"])
def test_the_stylizer_is_frozen_and_only_the_network_trains(kind, weight_files):
    vgg, decoder = weight_files
    if kind == "adain_files":
        method = _method("adain", stylizer_vgg=str(vgg), stylizer_decoder=str(decoder))
    else:
        method = _method(_ModuleTransfer())
    stylizer = method.stylizer
    frozen = {k: v.clone() for k, v in stylizer.state_dict().items()}
    net_before = {k: v.clone() for k, v in method.model.state_dict().items()}
    method.train()
    assert not stylizer.training and not any(p.requires_grad for p in stylizer.parameters())
    trained = {id(p) for group in method.optimizer.param_groups for p in group["params"]}
    assert trained.isdisjoint(id(p) for p in stylizer.parameters())
    method.update(_batch(4, 16))
    assert all(p.grad is None for p in stylizer.parameters())
    assert all(torch.equal(frozen[k], v) for k, v in stylizer.state_dict().items())
    assert any(not torch.equal(net_before[k], v) for k, v in method.model.state_dict().items())


def test_composes_with_a_style_layer():
    batch = _batch()
    plain = _method(p=1.0)
    mixed = _method(layer="mixstyle", p=1.0)
    assert {type(layer) for layer in mixed.handle.layers.values()} == {STYLE_LAYERS.get("mixstyle")}
    seen = _record_forward(mixed)
    loss_mixed, loss_plain = mixed.update(batch)["loss"], plain.update(batch)["loss"]
    assert seen[0][0].shape[0] == 12 and loss_mixed != loss_plain  # the layer mixes inside the same step


def test_bad_hyperparameters_are_named(tmp_path, weight_files):
    vgg, _ = weight_files
    with pytest.raises(InvalidArgumentError, match=r"hparams 'stylizer' of method 'debiased' must be one of 'adain'"):
        _method("adian")
    with pytest.raises(InvalidArgumentError, match="label_gamma"):
        _method(label_gamma=1.5)
    with pytest.raises(InvalidArgumentError, match="only a named stylizer"):
        _method(adain, stylizer_vgg=str(vgg))
    with pytest.raises(InvalidArgumentError, match="missing decoder.*stylizer_decoder"):
        _method("adain", stylizer_vgg=str(vgg))
    with pytest.raises(MissingFileError, match="weights not found at .*nope.pth"):
        _method("adain", stylizer_vgg=str(tmp_path / "nope.pth"), stylizer_decoder=str(tmp_path / "nope2.pth"))


def test_missing_published_weights_say_where_to_put_them(tmp_path, monkeypatch):
    import urllib.error
    import urllib.request

    def offline(*a, **k):
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setenv("STYLEBIAS_HOME", str(tmp_path / "cache"))
    with pytest.raises(MissingFileError) as err:
        _method("efdm")
    text = str(err.value)
    assert "method 'debiased' uses the published 'efdm' stylizer weights" in text
    assert str(tmp_path / "cache") in text and "'stylizer_vgg', 'stylizer_decoder'" in text


def _cfg(tmp_path, name, weights, **kw):
    vgg, decoder = weights
    hparams = {"model_width": 4, "stylizer_vgg": str(vgg), "stylizer_decoder": str(decoder), **kw.pop("hparams", {})}
    return load_config(method="debiased", steps=4, batch_size=8, checkpoint_every=2, output_dir=tmp_path / name,
                       progress=False, hparams=hparams, **kw)


def test_interrupted_run_resumes_exactly(tmp_path, monkeypatch, weight_files):
    bundle = tiny_bundle(n=32, size=16)
    straight = train(_cfg(tmp_path, "straight", weight_files), data=bundle)
    original, calls = DebiasedTraining.update, {"n": 0}

    def crash_at_three(self, batch):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("killed")
        return original(self, batch)

    monkeypatch.setattr(DebiasedTraining, "update", crash_at_three)
    with pytest.raises(KeyboardInterrupt):
        train(_cfg(tmp_path, "resumed", weight_files), data=bundle)
    monkeypatch.undo()
    resumed = train(_cfg(tmp_path, "resumed", weight_files), data=bundle)
    a = torch.load(straight.output_dir / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(resumed.output_dir / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.final["loss"] == straight.final["loss"] and resumed.final["stylized"] == 8.0


def _worker(rank, world, port, results, out, vgg, decoder):
    import os

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    cfg = load_config(method="debiased", steps=2, batch_size=4, checkpoint_every=2, output_dir=out, progress=False,
                      hparams={"model_width": 4, "stylizer_vgg": vgg, "stylizer_decoder": decoder})
    result = train(cfg, data=tiny_bundle(n=16, size=16))
    import torch.distributed as dist

    results[rank] = (len(result.history), torch.cat([p.detach().flatten() for p in result.model.parameters()]))
    dist.destroy_process_group()


def test_ddp_run_under_torchrun_environment(tmp_path, weight_files):
    results = run_ranks(_worker, 2, tmp_path / "ddp", *map(str, weight_files))
    (evals0, weights0), (evals1, weights1) = results[0], results[1]
    assert evals0 == 1 and evals1 == 0  # only rank 0 evaluates
    torch.testing.assert_close(weights0, weights1)  # replicas stay in sync
    assert (tmp_path / "ddp" / "done").exists()


def test_cli_trains_on_the_builtin_benchmark(tmp_path, capsys, weight_files):
    from stylebias.cli import main

    vgg, decoder = map(str, weight_files)
    args = ["train", "--method", "debiased", "--data", "shapes:n_per_class=2,val_per_class=1,test_per_class=6,cue_per_class=1",
            "--image-size", "32", "--steps", "3", "--batch-size", "8", "--output-dir", str(tmp_path / "run"),
            "--corruption-severities", "1", "--no-progress", "--json",
            "--hparams", json.dumps({"model_width": 4, "stylizer_vgg": vgg, "stylizer_decoder": decoder, "label_gamma": 0.7})]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["final"]["stylized"] == 8.0 and 0.0 <= summary["final"]["shape_bias"] <= 1.0
    saved = json.loads((tmp_path / "run" / "hparams.json").read_text())
    assert saved["label_gamma"] == 0.7 and saved["style_alpha"] == 0.5 and saved["stylizer"] == "adain"
