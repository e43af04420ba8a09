"""ContrastiveStylizer against the reference semantics of HalbertCH/IEContraAST (net.py and
Eval.py, re-expressed here), its weight files, and its use through the common interface."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from stylebias.cli import main
from stylebias.errors import DataError, InvalidArgumentError, MissingFileError, ShapeError
from stylebias.stylize import (
    AdaINStylizer,
    AttentionCode,
    ContrastiveStylizer,
    StyleAugment,
    load_stylizer,
)
from stylebias.stylize.network import build_decoder, build_vgg
from stylebias.stylize.sanet import Transform


# ---- reference semantics (net.py), written out for comparison ------------------------------
def ref_calc_mean_std(feat, eps=1e-5):
    n, c = feat.size()[:2]
    feat_var = feat.view(n, c, -1).var(dim=2) + eps
    return feat.view(n, c, -1).mean(dim=2).view(n, c, 1, 1), feat_var.sqrt().view(n, c, 1, 1)


def ref_mvn(feat):
    mean, std = ref_calc_mean_std(feat)
    return (feat - mean.expand(feat.size())) / std.expand(feat.size())


class RefSANet(nn.Module):
    def __init__(self, in_planes):
        super().__init__()
        self.f = nn.Conv2d(in_planes, in_planes, (1, 1))
        self.g = nn.Conv2d(in_planes, in_planes, (1, 1))
        self.h = nn.Conv2d(in_planes, in_planes, (1, 1))
        self.sm = nn.Softmax(dim=-1)
        self.out_conv = nn.Conv2d(in_planes, in_planes, (1, 1))

    def forward(self, content, style):
        f = self.f(ref_mvn(content))
        g = self.g(ref_mvn(style))
        h_ = self.h(style)
        b, c, h, w = f.size()
        f = f.view(b, -1, w * h).permute(0, 2, 1)
        b, c, h, w = g.size()
        g = g.view(b, -1, w * h)
        s = self.sm(torch.bmm(f, g))
        b, c, h, w = h_.size()
        h_ = h_.view(b, -1, w * h)
        o = torch.bmm(h_, s.permute(0, 2, 1))
        b, c, h, w = content.size()
        o = self.out_conv(o.view(b, c, h, w))
        return o + content


class RefTransform(nn.Module):
    def __init__(self, in_planes):
        super().__init__()
        self.sanet4_1 = RefSANet(in_planes)
        self.sanet5_1 = RefSANet(in_planes)
        self.merge_conv_pad = nn.ReflectionPad2d((1, 1, 1, 1))
        self.merge_conv = nn.Conv2d(in_planes, in_planes, (3, 3))

    def forward(self, content4_1, style4_1, content5_1, style5_1):
        up = nn.Upsample(size=(content4_1.size()[2], content4_1.size()[3]), mode="nearest")
        return self.merge_conv(self.merge_conv_pad(
            self.sanet4_1(content4_1, style4_1) + up(self.sanet5_1(content5_1, style5_1))))


class Reference:
    """Eval.py's networks, loaded from the files with plain ``load_state_dict`` (strict)."""

    def __init__(self, vgg_file, decoder_file, transform_file):
        vgg, self.decoder, self.transform = build_vgg(), build_decoder(), RefTransform(512)
        vgg.load_state_dict(torch.load(vgg_file, weights_only=True))
        self.decoder.load_state_dict(torch.load(decoder_file, weights_only=True))
        self.transform.load_state_dict(torch.load(transform_file, weights_only=True))
        layers = list(vgg.children())
        self.enc_4 = nn.Sequential(*layers[:31])  # enc_1 ... enc_4 in a row
        self.enc_5 = nn.Sequential(*layers[31:44])
        for m in (self.decoder, self.transform, self.enc_4, self.enc_5):
            m.double().eval()

    def feats(self, x):
        c4 = self.enc_4(x)
        return c4, self.enc_5(c4)

    def __call__(self, content, style):
        c4, c5 = self.feats(content)
        s4, s5 = self.feats(style.expand(content.shape[0], -1, -1, -1))
        return self.decoder(self.transform(c4, s4, c5, s5))

    def identity(self, content):
        c4, c5 = self.feats(content)
        return self.transform(c4, c4, c5, c5)

    def blended(self, content, style, alpha):
        c4, c5 = self.feats(content)
        s4, s5 = self.feats(style.expand(content.shape[0], -1, -1, -1))
        target, ident = self.transform(c4, s4, c5, s5), self.transform(c4, c4, c5, c5)
        return self.decoder(ident + alpha.view(-1, 1, 1, 1) * (target - ident))


# ---- fixtures -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def contrastive_files(weight_files, tmp_path_factory):
    """vgg, decoder and a transformer saved as train.py saves it (from the reference class)."""
    root = tmp_path_factory.mktemp("contrastive")
    torch.manual_seed(1)
    torch.save(RefTransform(512).state_dict(), root / "transformer_iter_1.pth")
    return weight_files[0], weight_files[1], root / "transformer_iter_1.pth"


@pytest.fixture(scope="module")
def net(contrastive_files):
    return ContrastiveStylizer.from_files(*contrastive_files)


def _copy64(net):
    return copy.deepcopy(net).double()


@pytest.fixture(scope="module")
def reference(contrastive_files):
    return Reference(*contrastive_files)


def close(a, b, tol=1e-9):
    return float((a - b).abs().max() / b.abs().max().clamp_min(1)) < tol


def rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ---- the network ----------------------------------------------------------------------------
def test_transform_keys_and_shapes_are_the_reference_layout():
    ours = {k: tuple(v.shape) for k, v in Transform(512).state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in RefTransform(512).state_dict().items()}
    assert ours == theirs
    assert ours["merge_conv.weight"] == (512, 512, 3, 3) and len(ours) == 18


@torch.no_grad()
def test_forward_matches_reference(net, reference):
    net64 = _copy64(net)
    content, style = rand(2, 3, 32, 48, seed=1), rand(2, 3, 33, 40, seed=2)
    assert close(net64(content, style, clamp=False), reference(content, style))


@torch.no_grad()
def test_alpha_blends_with_the_identity_path(net, reference):
    net64 = _copy64(net)
    content, style = rand(2, 3, 32, 32, seed=3), rand(1, 3, 36, 32, seed=4)
    alpha = torch.tensor([0.0, 0.3], dtype=torch.float64)
    expected = reference.blended(content, style, alpha)
    # alpha travels as float32 (as AdaIN's), so 0.3 is 0.3 + 1.2e-8 here
    assert close(net64(content, style, alpha, clamp=False), expected, tol=1e-6)
    ident = reference.decoder(reference.identity(content[:1]))
    assert close(expected[:1], ident)  # alpha=0: the identity path, decoded


@torch.no_grad()
@pytest.mark.parametrize("size", [(17, 50), (3, 2)])
def test_exact_output_size_is_the_reference_on_the_padded_content(net, reference, size):
    net64 = _copy64(net)
    content, style = rand(1, 3, *size, seed=5), rand(1, 3, 40, 40, seed=6)
    h, w = size
    ph, pw = max(-(-h // 16) * 16, 32), max(-(-w // 16) * 16, 32)
    mode = "reflect" if ph - h < h and pw - w < w else "replicate"
    padded = F.pad(content, (0, pw - w, 0, ph - h), mode=mode)
    out = net64(content, style, clamp=False)
    assert out.shape == (1, 3, h, w)
    assert close(out, reference(padded, style)[..., :h, :w])


@torch.no_grad()
def test_codes_of_different_sizes_batch_exactly(net):
    contents = rand(3, 3, 32, 48, seed=7).float()
    styles = [rand(1, 3, 32 + 16 * i, 40, seed=8 + i).float() for i in range(3)]
    one_by_one = torch.cat([net(contents[i : i + 1], styles[i]) for i in range(3)])
    code = net.cat_codes([net.encode_style(s) for s in styles], (32, 48))
    assert isinstance(code, AttentionCode) and len(code) == 3
    assert code.relu4_1.mask is not None and code.nbytes() > 0
    # batched convolutions sum in another order: float32 noise of ~1e-5 on outputs of ~4
    assert torch.allclose(net(contents, code), one_by_one, atol=2e-4)
    many = net.stylize_many(list(contents), code)
    assert torch.allclose(torch.stack(many), one_by_one, atol=2e-4)


@torch.no_grad()
def test_bf16_and_channels_last_follow_fp32(net):
    content, style = rand(1, 3, 32, 32, seed=11).float(), rand(1, 3, 32, 32, seed=12).float()
    ref = net(content, style)
    out_cl = net(content.contiguous(memory_format=torch.channels_last), style)
    assert torch.allclose(out_cl, ref, atol=2e-4)
    bf16 = copy.deepcopy(net).to(torch.bfloat16)
    out = bf16(content, style)
    assert out.dtype == torch.bfloat16 and out.shape == ref.shape
    assert float((out.float() - ref).abs().mean()) < 0.05


def test_bad_arguments(net):
    x = torch.rand(2, 3, 32, 32)
    with pytest.raises(ShapeError, match="style must hold 2"):
        net(x, torch.rand(3, 3, 32, 32))
    with pytest.raises(InvalidArgumentError, match="AttentionCode"):
        net(x, AdaINStylizer().encode_style(torch.rand(1, 3, 32, 32)))
    with pytest.raises(InvalidArgumentError, match="method"):
        net(x, x, method="adain")
    with pytest.raises(InvalidArgumentError, match="alpha"):
        net(x, x, 1.5)


# ---- weight files ---------------------------------------------------------------------------
def test_bad_weight_files_are_named(contrastive_files, tmp_path):
    vgg, dec, tf = contrastive_files
    with pytest.raises(MissingFileError, match="nope.pth.*IEContraAST"):
        ContrastiveStylizer.from_files(vgg, dec, tmp_path / "nope.pth")
    wrong = tmp_path / "wrong.pth"
    torch.save({"sanet4_1.f.weight": torch.zeros(512, 512, 1, 1)}, wrong)
    with pytest.raises(DataError, match="wrong.pth.*IEContraAST layout"):
        ContrastiveStylizer.from_files(vgg, dec, wrong)
    with pytest.raises(DataError, match="transformer_iter_1.pth"):  # decoder/transformer swapped
        ContrastiveStylizer.from_files(vgg, tf, tf)
    pickled = tmp_path / "object.pth"
    torch.save({"x": nn.Linear(1, 1)}, pickled)  # a module, not tensors: weights_only refuses
    with pytest.raises(DataError, match="object.pth"):
        ContrastiveStylizer.from_files(vgg, dec, pickled)


def test_load_stylizer_by_method(contrastive_files):
    vgg, dec, tf = contrastive_files
    assert isinstance(load_stylizer("contrastive", vgg=vgg, decoder=dec, transformer=tf),
                      ContrastiveStylizer)  # fmt: skip
    assert load_stylizer("efdm", vgg=vgg, decoder=dec).method == "efdm"
    with pytest.raises(InvalidArgumentError, match="missing transformer"):
        load_stylizer("contrastive", vgg=vgg, decoder=dec)
    with pytest.raises(InvalidArgumentError, match="only used by method 'contrastive'"):
        load_stylizer("adain", vgg=vgg, decoder=dec, transformer=tf)
    with pytest.raises(InvalidArgumentError, match="method"):
        load_stylizer("sanet", vgg=vgg, decoder=dec)


def test_pretrained_offline_says_where_to_put_the_files(tmp_path):
    from stylebias.hub import download

    for name, member in (("contrastive-decoder", "decoder_iter_160000.pth"),
                         ("contrastive-transformer", "transformer_iter_160000.pth")):  # fmt: skip
        with pytest.raises(MissingFileError) as info:
            download(name, tmp_path, download=True)  # never fetched, even when allowed
        message = str(info.value)
        assert "drive.google.com" in message and member in message
        assert str(tmp_path / f"iecontraast-{member}") in message
    with pytest.raises(MissingFileError, match="decoder_iter_160000"):  # before any VGG download
        ContrastiveStylizer.pretrained(tmp_path, download=True)
    for member in ("decoder_iter_160000.pth", "transformer_iter_160000.pth"):
        (tmp_path / f"iecontraast-{member}").write_bytes(b"x")
    assert download("contrastive-decoder", tmp_path) == tmp_path / "iecontraast-decoder_iter_160000.pth"
    with pytest.raises(MissingFileError, match="adain-vgg"):
        ContrastiveStylizer.pretrained(tmp_path, download=False)


# ---- through the common interface -----------------------------------------------------------
def test_style_augment_takes_the_contrastive_stylizer(net):
    aug = StyleAugment(net, torch.rand(2, 3, 40, 36), fraction=1.0,
                       generator=torch.Generator().manual_seed(0)).train()  # fmt: skip
    x = torch.rand(2, 3, 32, 32)
    out = aug(x)
    assert out.shape == x.shape and not torch.allclose(out, x)
    with pytest.raises(InvalidArgumentError, match="method"):
        StyleAugment(net, torch.rand(1, 3, 32, 32), method="efdm")


def test_cli_stylizes_a_folder_with_the_reference_files(folders, contrastive_files, net, capsys):
    vgg, dec, tf = contrastive_files
    out = folders["root"] / "cli-contrastive"
    argv = ["stylize", "--method", "contrastive", "--content-dir", str(folders["content"]),
            "--style-dir", str(folders["style"]), "--output-dir", str(out), "--vgg", str(vgg),
            "--decoder", str(dec), "--transformer", str(tf), "--style-size", "0",
            "--format", "png", "--workers", "0", "--no-progress", "--json"]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["written"] == 7 and summary["failed"] == 1
    records = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert {m["method"] for m in records} == {"contrastive"}
    # a written file is the network's output for its content and style (lossless PNG)
    record = next(r for r in records if r["content"] == "cls_a/rgb.JPG")

    def load(path):
        return torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1)

    content = load(folders["content"] / record["content"])[None].float() / 255
    style = load(folders["style"] / record["style"])[None].float() / 255
    with torch.no_grad():
        expected = net(content, style).mul(255).round().to(torch.uint8)[0]
    written = load(out / record["output"])
    assert written.shape == expected.shape == (3, 21, 30)
    assert (written.int() - expected.int()).abs().max() <= 1
    without = [a for a in argv if a not in ("--transformer", str(tf))]
    assert main(without) == 2
    assert "transformer" in capsys.readouterr().err
