"""StyleAugment and the decoder-training recipe."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from stylebias.errors import DataError, InvalidArgumentError
from stylebias.stylize import AdaINStylizer, StyleAugment
from stylebias.stylize.train import TrainDecoderConfig, decoder_losses, train_decoder


# ---------------------------------------------------------------- StyleAugment
@torch.no_grad()
def test_augment_stylizes_the_drawn_samples(stylizer):
    gen = torch.Generator().manual_seed(0)
    styles = torch.rand(3, 3, 24, 24, generator=gen)
    x = torch.rand(4, 3, 16, 16, generator=gen)
    aug = StyleAugment(stylizer, styles, fraction=0.5, alpha=(0.2, 0.9))
    params = aug.sample_params(x, torch.Generator().manual_seed(1))
    assert params["index"].numel() == 2  # 0.5 * 4, no fractional draw
    out = aug(x, params)
    untouched = [i for i in range(4) if i not in params["index"].tolist()]
    assert torch.equal(out[untouched], x[untouched])
    for j, i in enumerate(params["index"].tolist()):
        s = int(params["style"][j])
        expect = stylizer(x[i : i + 1], styles[s : s + 1], params["alpha"][j : j + 1])
        assert torch.allclose(out[i], expect[0], atol=1e-3)
        assert 0.2 <= float(params["alpha"][j]) <= 0.9


def test_augment_identity_cases_and_seeding(stylizer, folders):
    x = torch.rand(3, 3, 16, 16)
    assert StyleAugment(stylizer, folders["style"], fraction=0.0)(x) is x
    aug = StyleAugment(stylizer, folders["style"], fraction=1.0, style_size=16)
    assert aug.eval()(x) is x
    aug.train()
    a = StyleAugment(stylizer, folders["style"], 1.0, style_size=16,
                     generator=torch.Generator().manual_seed(3))(x)  # fmt: skip
    b = StyleAugment(stylizer, folders["style"], 1.0, style_size=16,
                     generator=torch.Generator().manual_seed(3))(x)  # fmt: skip
    assert torch.equal(a, b) and not torch.equal(a, x)
    # fractional part: 0.5 * 3 = 1.5 -> 1 or 2 samples, both occur
    counts = {StyleAugment(stylizer, torch.rand(2, 3, 16, 16), 0.5,
                           generator=torch.Generator().manual_seed(s)).sample_params(x)["index"].numel()
              for s in range(20)}  # fmt: skip
    assert counts == {1, 2}
    assert len(aug) == 4 and len(aug._codes) <= 4  # each style file encoded once


def test_augment_errors(stylizer, tmp_path):
    with pytest.raises(InvalidArgumentError, match="fraction"):
        StyleAugment(stylizer, torch.rand(1, 3, 8, 8), fraction=1.5)
    with pytest.raises(InvalidArgumentError, match="low <= high"):
        StyleAugment(stylizer, torch.rand(1, 3, 8, 8), alpha=(0.9, 0.1))
    with pytest.raises(DataError, match="no image files"):
        StyleAugment(stylizer, tmp_path)


# ---------------------------------------------------------------- training recipe
def ref_mean_std(feat, eps=1e-5):
    n, c = feat.shape[:2]
    var = feat.view(n, c, -1).var(dim=2) + eps
    return feat.view(n, c, -1).mean(dim=2).view(n, c, 1, 1), var.sqrt().view(n, c, 1, 1)


def test_losses_match_reference_net_forward(stylizer):
    """net.Net.forward of pytorch-AdaIN, re-expressed: slices [:4], [4:11], [11:18], [18:31]."""
    gen = torch.Generator().manual_seed(5)
    content, style = torch.rand(2, 3, 32, 32, generator=gen), torch.rand(2, 3, 32, 32, generator=gen)
    stages = stylizer.encoder.stages

    def feats(x):
        out = []
        for s in stages:
            x = s(x)
            out.append(x)
        return out

    with torch.no_grad():
        style_feats = feats(style)
        c4 = feats(content)[-1]
        s_mean, s_std = ref_mean_std(style_feats[-1])
        c_mean, c_std = ref_mean_std(c4)
        t = (c4 - c_mean) / c_std * s_std + s_mean
        g_feats = feats(stylizer.decoder(t))
        ref_c = F.mse_loss(g_feats[-1], t)
        ref_s = sum(F.mse_loss(ref_mean_std(g)[0], ref_mean_std(s)[0])
                    + F.mse_loss(ref_mean_std(g)[1], ref_mean_std(s)[1])
                    for g, s in zip(g_feats, style_feats))  # fmt: skip
    loss_c, loss_s = decoder_losses(stylizer, content, style)
    assert torch.allclose(loss_c, ref_c, rtol=1e-4) and torch.allclose(loss_s, ref_s, rtol=1e-4)
    loss_c.backward()
    assert all(p.grad is None for p in stylizer.encoder.parameters())
    assert any(p.grad is not None for p in stylizer.decoder.parameters())
    stylizer.decoder.zero_grad(set_to_none=True)


def test_train_resume_and_published_layout(folders, weight_files, tmp_path):
    base = dict(content_dir=folders["content"], style_dir=folders["style"],
                output_dir=tmp_path / "run", vgg=weight_files[0], image_size=24, crop=16,
                batch_size=2, save_every=2, log_every=1, workers=0, lr=1e-3)  # fmt: skip
    first = train_decoder(TrainDecoderConfig(**base, max_iter=2))
    assert first["resumed_from"] == 0
    second = train_decoder(TrainDecoderConfig(**base, max_iter=3))
    assert second["resumed_from"] == 2
    history = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [h["iteration"] for h in history] == [1, 2, 3]
    for h in history:  # lr / (1 + lr_decay * i), i counted from 0
        assert h["lr"] == pytest.approx(1e-3 / (1 + 5e-5 * (h["iteration"] - 1)))
    loaded = AdaINStylizer.from_files(weight_files[0], tmp_path / "run" / "decoder.pth")
    iter3 = torch.load(tmp_path / "run" / "decoder_iter_3.pth", weights_only=True)
    assert torch.equal(loaded.decoder[1].weight, iter3["1.weight"])
    fresh = train_decoder(TrainDecoderConfig(**base, max_iter=1, resume=False, method="efdm"))
    assert fresh["resumed_from"] == 0
    with pytest.raises(InvalidArgumentError, match="crop"):
        train_decoder(TrainDecoderConfig(**{**base, "crop": 64}, max_iter=1))


def test_train_decoder_cli(folders, weight_files, tmp_path, capsys):
    from stylebias.cli import main

    argv = ["train-decoder", "--content-dir", str(folders["content"]), "--style-dir",
            str(folders["style"]), "--output-dir", str(tmp_path / "cli"), "--vgg",
            str(weight_files[0]), "--image-size", "24", "--crop", "16", "--batch-size", "2",
            "--max-iter", "1", "--workers", "0", "--method", "efdm", "--json"]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["iterations"] == 1 and summary["config"]["method"] == "efdm"
    assert (tmp_path / "cli" / "decoder.pth").is_file()
    assert main([*argv[:-1], "--crop", "99"]) == 2
    assert "crop" in capsys.readouterr().err
