"""``train-decoder --method contrastive``: the IEContraAST recipe (train.py / net.py re-expressed
here), its batches, training, exact resume, DDP, CLI and refusals.

The networks are the published layout at width 4 (every channel count / 16), so a training
step at the recipe's 128-px minimum crop takes a fraction of a second on a CPU.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from stylebias.cli import main
from stylebias.errors import DataError, InvalidArgumentError
from stylebias.stylize import ContrastiveStylizer
from stylebias.stylize.contrastive_heads import build_projection_content, build_projection_style
from stylebias.stylize.contrastive_losses import (
    content_contrastive_loss,
    contrastive_embedding,
    reference_pairs,
    style_contrastive_loss,
)
from stylebias.stylize.network import build_vgg
from stylebias.stylize.train import TrainDecoderConfig, train_decoder
from stylebias.stylize.train_contrastive import generator_losses
from tests.conftest import run_ranks
from tests.stylize.test_contrastive_losses import ref_content_contrastive, ref_style_contrastive
from tests.stylize.test_stylize_contrastive import RefTransform, ref_calc_mean_std, ref_mvn

WIDTH = 4
LOSSES = ("content", "style", "identity", "identity_feature", "contrastive_content",
          "contrastive_style", "gan", "discriminator")  # fmt: skip


def _pattern(rng: np.random.Generator, size: int) -> np.ndarray:
    """A distinct image: its own colour, stripes of its own frequency and angle, some noise
    (i.i.d. noise images would all have the same VGG statistics)."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    freq, angle = rng.uniform(1, 6), rng.uniform(0, np.pi)
    stripes = np.sin(2 * np.pi * freq * (np.cos(angle) * xx + np.sin(angle) * yy))
    image = rng.uniform(0.2, 0.8, 3) + 0.3 * stripes[..., None] * rng.uniform(-1, 1, 3)
    image = image + rng.normal(0, 0.03, (size, size, 3))
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    """A width-4 VGG in the published layout and folders of 128-px contents and styles."""
    root = tmp_path_factory.mktemp("contrastive-train")
    rng = np.random.default_rng(0)
    for kind, n in (("content", 4), ("style", 4), ("two_content", 2), ("two_style", 2)):
        (root / kind).mkdir()
        for i in range(n):
            Image.fromarray(_pattern(rng, 128)).save(root / kind / f"{i}.png")
    torch.manual_seed(0)
    vgg = build_vgg(WIDTH)
    with torch.no_grad():  # keep activations O(1) through the random layers
        for m in vgg.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                m.bias.uniform_(-0.1, 0.1)
    torch.save(vgg.state_dict(), root / "vgg.pth")
    return {"root": root, "vgg": root / "vgg.pth",
            **{kind: root / kind for kind in ("content", "style", "two_content", "two_style")}}  # fmt: skip


def config(data, out, **kw) -> TrainDecoderConfig:
    base = dict(content_dir=data["content"], style_dir=data["style"], output_dir=out, vgg=data["vgg"],
                method="contrastive", batch_size=4, image_size=128, crop=128, workers=0,
                log_every=1, progress=False)  # fmt: skip
    return TrainDecoderConfig(**{**base, **kw})


# ---------------------------------------------------------------------------- batches
def test_reference_pairs_hand_checked():
    content_id, style_id = reference_pairs(3)
    # train.py: contents [c0 c1 c2 | c1 c2 c0], styles [s0 s1 s2 | s0 s1 s2]
    assert list(zip(content_id.tolist(), style_id.tolist())) == [(0, 0), (1, 1), (2, 2), (1, 0), (2, 1), (0, 2)]
    for h in (2, 3, 6):
        content_id, style_id = reference_pairs(h)
        for i in range(h):  # every style with exactly two different contents, and vice versa
            assert sorted(set(content_id[style_id == i].tolist())) == sorted({i, (i + 1) % h})
            assert len(content_id[style_id == i]) == 2
            assert len(set(style_id[content_id == i].tolist())) == 2 == len(style_id[content_id == i])


# ---------------------------------------------------------------------------- losses
class RefNet:
    """Net.forward of net.py on the batch train.py builds (float64, same weights)."""

    def __init__(self, net: ContrastiveStylizer, proj_style, proj_content):
        layers = list(net.encoder.stages) + [net.enc_5]
        self.encs = [nn.Sequential(*(m for m in layer)).double() for layer in layers]
        self.decoder = net.decoder
        self.transform = RefTransform(8 * WIDTH).double()
        self.transform.load_state_dict(net.transform.state_dict())
        self.proj_style, self.proj_content = proj_style, proj_content

    def encode(self, x):
        out = [x]
        for enc in self.encs:
            out.append(enc(out[-1]))
        return out[1:]

    def embed(self, feats, head):
        out = head(torch.sum(feats, dim=[2, 3]))
        return out / torch.norm(out, p=2, dim=1, keepdim=True)

    def __call__(self, content, style):
        content = torch.cat([content, torch.cat([content[1:], content[0:1]], 0)], 0)  # train.py
        style = torch.cat([style, style], 0)
        mse = F.mse_loss
        sf, cf = self.encode(style), self.encode(content)
        g_t = self.decoder(self.transform(cf[3], sf[3], cf[4], sf[4]))
        gf = self.encode(g_t)
        loss_c = mse(ref_mvn(gf[3]), ref_mvn(cf[3])) + mse(ref_mvn(gf[4]), ref_mvn(cf[4]))
        loss_s = sum(mse(ref_calc_mean_std(g)[0], ref_calc_mean_std(s)[0])
                     + mse(ref_calc_mean_std(g)[1], ref_calc_mean_std(s)[1]) for g, s in zip(gf, sf))  # fmt: skip
        icc = self.decoder(self.transform(cf[3], cf[3], cf[4], cf[4]))
        iss = self.decoder(self.transform(sf[3], sf[3], sf[4], sf[4]))
        l_id1 = mse(icc, content) + mse(iss, style)
        fcc, fss = self.encode(icc), self.encode(iss)
        l_id2 = sum(mse(fcc[i], cf[i]) + mse(fss[i], sf[i]) for i in range(5))
        half = content.shape[0] // 2
        s_emb, c_emb = self.embed(gf[2], self.proj_style), self.embed(gf[3], self.proj_content)
        return g_t, {
            "content": loss_c, "style": loss_s, "identity": l_id1, "identity_feature": l_id2,
            "contrastive_content": ref_content_contrastive(c_emb[:half], c_emb[half:], half),
            "contrastive_style": ref_style_contrastive(s_emb[:half], s_emb[half:], half),
        }  # fmt: skip


def test_generator_losses_match_reference_net_forward(data):
    torch.manual_seed(3)
    vgg = build_vgg(WIDTH)
    vgg.load_state_dict(torch.load(data["vgg"], weights_only=True))
    net = ContrastiveStylizer(vgg).double()
    heads = build_projection_style(WIDTH).double(), build_projection_content(WIDTH).double()
    gen = torch.Generator().manual_seed(0)
    content = torch.rand(3, 3, 32, 32, generator=gen, dtype=torch.float64)
    style = torch.rand(3, 3, 32, 32, generator=gen, dtype=torch.float64)
    stylized, losses = generator_losses(net, *heads, content, style)
    ref_stylized, ref_losses = RefNet(net, *heads)(content, style)
    torch.testing.assert_close(stylized, ref_stylized, rtol=1e-9, atol=1e-9)
    assert set(losses) == set(ref_losses)
    for name, value in losses.items():
        torch.testing.assert_close(value, ref_losses[name].to(value.dtype), rtol=1e-9, atol=1e-12, msg=name)
    sum(losses.values()).backward()
    trained = [net.decoder, net.transform, *heads]
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for m in trained for p in m.parameters())
    assert all(p.grad is None for p in [*net.encoder.parameters(), *net.enc_5.parameters()])


# ---------------------------------------------------------------------------- training
def _history(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def test_losses_decrease(data, tmp_path):
    """The reconstruction terms and the discriminator's loss fall step after step. The
    generator's adversarial loss falls from its value against the untrained discriminator but
    then climbs as the discriminator learns (the usual GAN dynamic), so only that first fall
    is asserted. The contrastive terms start at their symmetric value ``2h log(2h - 2)`` (the
    random decoder's stylizations all embed alike) and need far more steps than a unit test
    can take: see the next test."""
    steps, k = 10, 3
    # two contents and two styles of the crop's size: with h = 2 every step's batch is all four
    # (content, style) pairs, whatever the order, so the objective is the same at every step
    cfg = config(data, tmp_path / "run", max_iter=steps, lr=5e-4, seed=1,
                 content_dir=data["two_content"], style_dir=data["two_style"])  # fmt: skip
    summary = train_decoder(cfg)
    history = _history(tmp_path / "run")
    assert len(history) == steps and summary["iterations"] == steps
    values = {name: [h[f"loss_{name}"] for h in history] for name in LOSSES}
    for name in ("content", "style", "identity", "identity_feature", "discriminator"):
        first, last = np.mean(values[name][:k]), np.mean(values[name][-k:])
        assert last < first, f"{name}: mean of the first {k} steps {first:.5g}, of the last {k} {last:.5g}"
    assert np.mean(values["gan"][-k:]) < values["gan"][0], values["gan"]
    for name in ("contrastive_content", "contrastive_style"):  # 2h queries, 2h - 2 keys each
        assert values[name][0] == pytest.approx(4 * np.log(2), abs=0.05), (name, values[name])
        assert all(np.isfinite(values[name])), name


def test_contrastive_terms_fall_once_the_stylizations_differ():
    """The part the short run above cannot show: given stylizations whose features differ
    (features of content i plus features of style j, for the reference's pairs), the heads
    learn to bring both contrastive losses down from their symmetric value."""
    h, gen = 3, torch.Generator().manual_seed(0)
    content_id, style_id = reference_pairs(h)
    relu3_1 = [torch.randn(h, 4 * WIDTH, 4, 4, generator=gen) for _ in "cs"]
    relu4_1 = [torch.randn(h, 8 * WIDTH, 2, 2, generator=gen) for _ in "cs"]
    feats3 = relu3_1[0][content_id] + relu3_1[1][style_id]
    feats4 = relu4_1[0][content_id] + relu4_1[1][style_id]
    torch.manual_seed(0)
    heads = build_projection_style(WIDTH), build_projection_content(WIDTH)
    optimizer = torch.optim.Adam([p for head in heads for p in head.parameters()], lr=1e-3)
    history = []
    for _ in range(30):
        style_emb, content_emb = contrastive_embedding(feats3, heads[0]), contrastive_embedding(feats4, heads[1])
        losses = (style_contrastive_loss(style_emb[:h], style_emb[h:]),
                  content_contrastive_loss(content_emb[:h], content_emb[h:]))  # fmt: skip
        optimizer.zero_grad()
        sum(losses).backward()
        optimizer.step()
        history.append([float(x.detach()) for x in losses])
    first, last = np.mean(history[:5], axis=0), np.mean(history[-5:], axis=0)
    assert (last < first - 0.1).all(), (first, last)


def _checkpoint(out: Path) -> dict:
    return torch.load(out / "checkpoint.pt", weights_only=True)


def _assert_equal_states(a, b, where=""):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _assert_equal_states(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_equal_states(x, y, f"{where}/{i}")
    else:
        assert a == b, where


def test_resume_is_bit_exact_and_stylize_loads_the_outputs(data, tmp_path, capsys):
    whole = tmp_path / "whole"
    train_decoder(config(data, whole, max_iter=3))
    parts = tmp_path / "parts"  # 2 iterations through the CLI, then resumed to 3 by the API
    argv = ["train-decoder", "--method", "contrastive", "--content-dir", str(data["content"]),
            "--style-dir", str(data["style"]), "--output-dir", str(parts), "--vgg", str(data["vgg"]),
            "--batch-size", "4", "--image-size", "128", "--crop", "128", "--max-iter", "2",
            "--log-every", "1", "--workers", "0", "--no-progress", "--json"]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["iterations"] == 2 and summary["config"]["style_weight"] == 1.0
    assert {f"loss_{n}" for n in LOSSES} <= set(summary)
    assert Path(summary["transformer"]) == parts / "transformer.pth"
    resumed = train_decoder(config(data, parts, max_iter=3))
    assert resumed["resumed_from"] == 2
    a, b = _checkpoint(whole), _checkpoint(parts)
    assert set(a["modules"]) == {"decoder", "transformer", "projection_style", "projection_content", "discriminator"}
    assert set(a["optimizers"]) == {"optimizer", "optimizer_d"}
    _assert_equal_states(a, b)
    assert _history(whole) == _history(parts)
    # the reference's file layout, and stylize loads it
    for name in ("decoder_iter_3.pth", "transformer_iter_3.pth", "decoder_iter_2.pth", "transformer.pth"):
        assert (parts / name).is_file()
    assert torch.equal(torch.load(parts / "transformer.pth", weights_only=True)["merge_conv.weight"],
                       b["modules"]["transformer"]["merge_conv.weight"])  # fmt: skip
    out = tmp_path / "stylized"
    assert main(["stylize", "--method", "contrastive", "--content-dir", str(data["content"]),
                 "--style-dir", str(data["style"]), "--output-dir", str(out), "--vgg", str(data["vgg"]),
                 "--decoder", str(parts / "decoder_iter_3.pth"), "--transformer",
                 str(parts / "transformer_iter_3.pth"), "--workers", "0", "--no-progress",
                 "--json"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["written"] == 4


def test_bad_settings_are_refused(data, tmp_path):
    for kw, match in ((dict(batch_size=5), "even and >= 4"), (dict(batch_size=2), "even and >= 4"),
                      (dict(crop=96, image_size=128), "multiple of 16 and >= 128"),
                      (dict(crop=136, image_size=160), "multiple of 16"),
                      (dict(method="adain", transformer=tmp_path / "t.pth"), "only trained by method 'contrastive'"),
                      (dict(gan_weight=-1.0), "gan_weight")):  # fmt: skip
        with pytest.raises(InvalidArgumentError, match=match):
            train_decoder(config(data, tmp_path / "bad", max_iter=1, **kw))
    assert not (tmp_path / "bad").exists()  # refused before anything is written
    torch.save({"nonsense": torch.zeros(1)}, tmp_path / "t.pth")
    with pytest.raises(DataError, match="--transformer"):
        train_decoder(config(data, tmp_path / "bad", max_iter=1, transformer=tmp_path / "t.pth"))
    # an AdaIN run's checkpoint is not resumed as a contrastive one
    adain = tmp_path / "adain"
    train_decoder(config(data, adain, max_iter=1, method="adain", batch_size=1, image_size=32, crop=16))
    with pytest.raises(DataError, match="checkpoint of method 'adain'.*--no-resume"):
        train_decoder(config(data, adain, max_iter=2))
    assert main(["train-decoder", "--method", "contrastive", "--content-dir", str(data["content"]),
                 "--style-dir", str(data["style"]), "--output-dir", str(tmp_path / "c"),
                 "--crop", "100", "--image-size", "128"]) == 2  # fmt: skip


def _ddp_worker(rank, world, port, results, data, out):
    import os

    import torch.distributed as dist

    import stylebias.stylize.train as train_module

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    recipes = []
    run = train_module.run_recipe
    train_module.run_recipe = lambda recipe, *a, **k: recipes.append(recipe) or run(recipe, *a, **k)
    summary = train_decoder(config(data, out, max_iter=2, device="cpu"))
    modules = recipes[0].modules
    weights = {name: torch.cat([p.detach().flatten() for p in m.parameters()]) for name, m in modules.items()}
    results[rank] = (summary["world_size"], summary["loss_content"], weights)
    dist.destroy_process_group()


def test_ddp_replicas_stay_in_sync(data, tmp_path):
    results = run_ranks(_ddp_worker, 2, data, tmp_path / "ddp")
    (world0, loss0, weights0), (world1, loss1, weights1) = results[0], results[1]
    assert world0 == world1 == 2
    assert loss0 != loss1  # each process trained on its own images ...
    for name in weights0:  # ... and averaged gradients kept every network identical
        assert torch.equal(weights0[name], weights1[name]), name
    assert (tmp_path / "ddp" / "transformer_iter_2.pth").is_file()


def test_adain_recipe_resumes_bit_exact_through_the_shared_loop(folders, weight_files, tmp_path):
    base = dict(content_dir=folders["content"], style_dir=folders["style"], vgg=weight_files[0],
                image_size=24, crop=16, batch_size=2, log_every=1, workers=0, lr=1e-3, progress=False)  # fmt: skip
    train_decoder(TrainDecoderConfig(**base, output_dir=tmp_path / "whole", max_iter=3))
    train_decoder(TrainDecoderConfig(**base, output_dir=tmp_path / "parts", max_iter=2))
    train_decoder(TrainDecoderConfig(**base, output_dir=tmp_path / "parts", max_iter=3))
    _assert_equal_states(_checkpoint(tmp_path / "whole"), _checkpoint(tmp_path / "parts"))
    assert _history(tmp_path / "whole") == _history(tmp_path / "parts")
