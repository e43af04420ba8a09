"""Train an AdaIN/EFDM decoder with the published recipe (``stylebias train-decoder``).

The recipe of naoto0804/pytorch-AdaIN ``train.py``: the VGG encoder is frozen; content and style
images are resized to 512 x 512 and randomly cropped to 256 x 256; the decoder maps
``t = transfer(relu4_1(content), relu4_1(style))`` back to an image ``g(t)``; the loss is

    content_weight * MSE(relu4_1(g(t)), t)
    + style_weight * sum over relu1_1..relu4_1 of MSE(mean) + MSE(std) against the style

with Adam (lr 1e-4), the learning rate decayed as ``lr / (1 + lr_decay * iteration)``
(lr_decay 5e-5), batch 8. ``transfer`` is AdaIN or EFDM (``method``), so the same command trains
a decoder for EFDM, or for another encoder file in the published layout.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from .._checks import check_choice, check_positive
from ..errors import DataError, InvalidArgumentError
from ..functional import instance_stats
from ..hub import load_torch_file
from ..io import atomic_write, list_images, load_image
from ..runtime import check_device, resolve_device
from .dataset import DEFAULT_EXTENSIONS
from .network import build_decoder, build_vgg
from .stylizer import METHODS, AdaINStylizer, _load_into, load_state_file

__all__ = ["TrainDecoderConfig", "train_decoder", "decoder_losses"]

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"


@dataclass
class TrainDecoderConfig:
    """Settings of :func:`train_decoder`; the defaults are the published recipe.

    Args:
        content_dir: content images (COCO in the paper), searched recursively.
        style_dir: style images (WikiArt in the paper), searched recursively.
        output_dir: checkpoints (``checkpoint.pt``), decoders in the published layout
            (``decoder_iter_<n>.pth``, ``decoder.pth``) and ``log.jsonl``.
        vgg: ``vgg_normalised.pth``; None: the published file from the cache.
        decoder: a decoder to start from; None: PyTorch's default initialisation.
        method: ``"adain"`` or ``"efdm"``: the feature transform the decoder learns to invert.
        lr: Adam learning rate.
        lr_decay: ``lr_i = lr / (1 + lr_decay * i)``.
        max_iter: iterations in total (counting those before a resume).
        batch_size: images per batch (content and style each).
        content_weight: weight of the content loss.
        style_weight: weight of the style loss (the reference README trains with 10).
        image_size: images are resized to ``image_size x image_size`` ...
        crop: ... and randomly cropped to ``crop x crop``.
        save_every: iterations between checkpoints.
        log_every: iterations between log records.
        workers: DataLoader processes per image stream.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ...
        seed: seeds the weight initialisation, the image order and the crops.
        extensions: image suffixes, case-insensitive.
        max_pixels: decoding cap for huge images.
        resume: continue from ``output_dir/checkpoint.pt`` when present.
    """

    content_dir: Path
    style_dir: Path
    output_dir: Path
    vgg: Path | None = None
    decoder: Path | None = None
    method: str = "adain"
    lr: float = 1e-4
    lr_decay: float = 5e-5
    max_iter: int = 160_000
    batch_size: int = 8
    content_weight: float = 1.0
    style_weight: float = 10.0
    image_size: int = 512
    crop: int = 256
    save_every: int = 10_000
    log_every: int = 100
    workers: int = 2
    device: str = "auto"
    seed: int = 0
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    max_pixels: int = 50_000_000
    resume: bool = True

    def validate(self) -> None:
        """Check every value; raises ``InvalidArgumentError`` naming the bad one."""
        for name in ("content_dir", "style_dir", "output_dir"):
            setattr(self, name, Path(getattr(self, name)))
        check_device(self.device)
        check_choice(self.method, METHODS, "method")
        for name in ("lr", "content_weight", "style_weight"):
            check_positive(getattr(self, name), name, allow_zero=name != "lr")
        check_positive(self.lr_decay, "lr_decay", allow_zero=True)
        for name in ("max_iter", "batch_size", "image_size", "crop", "save_every", "log_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InvalidArgumentError(f"{name} must be an integer >= 1, got {value!r}")
        if self.crop > self.image_size:
            raise InvalidArgumentError(
                f"crop ({self.crop}) must not exceed image_size ({self.image_size})"
            )


class _InfiniteSampler(Sampler):
    """Endless ``(index, crop seed)`` pairs: a fresh seeded permutation per pass."""

    def __init__(self, n: int, seed: int, start: int) -> None:
        self.n, self.seed, self.start = n, seed, start

    def __iter__(self) -> Iterator[tuple[int, int]]:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.start)
        while True:
            for i in torch.randperm(self.n, generator=gen).tolist():
                yield i, int(torch.randint(2**62, (), generator=gen))


class _CroppedImages(Dataset):
    """Resize to ``size x size`` and take a random ``crop x crop`` (the reference transform)."""

    def __init__(self, paths: list[Path], size: int, crop: int, max_pixels: int) -> None:
        self.paths, self.size, self.crop, self.max_pixels = paths, size, crop, max_pixels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, item: tuple[int, int]) -> Tensor | None:
        index, seed = item
        try:
            image = load_image(self.paths[index], max_pixels=self.max_pixels)
        except DataError as err:
            log.warning("skipping training image: %s", err)
            return None
        image = image.resize((self.size, self.size), Image.Resampling.BILINEAR)
        gen = torch.Generator().manual_seed(seed)
        top, left = (int(torch.randint(self.size - self.crop + 1, (), generator=gen)) for _ in "yx")
        image = image.crop((left, top, left + self.crop, top + self.crop))
        data = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
        return data.view(self.crop, self.crop, 3).permute(2, 0, 1).contiguous()


def _collate(items: list[Tensor | None]) -> Tensor | None:
    good = [x for x in items if x is not None]
    return torch.stack(good) if good else None


def _stream(paths: list[Path], cfg: TrainDecoderConfig, seed: int, start: int) -> Iterator[Tensor]:
    data = _CroppedImages(paths, cfg.image_size, cfg.crop, cfg.max_pixels)
    sampler = _InfiniteSampler(len(paths), seed, start)
    loader = DataLoader(data, batch_size=cfg.batch_size, sampler=sampler,
                        num_workers=cfg.workers, collate_fn=_collate, drop_last=True)  # fmt: skip
    for batch in loader:
        if batch is not None:
            yield batch


def decoder_losses(
    stylizer: AdaINStylizer, content: Tensor, style: Tensor, method: str = "adain"
) -> tuple[Tensor, Tensor]:
    """Content and style losses of the AdaIN recipe for one batch (``Net.forward`` of the
    reference): gradients reach the decoder only.

    Args:
        stylizer: the networks; its decoder is trained.
        content: RGB ``(B, 3, H, W)`` in [0, 1].
        style: RGB ``(B, 3, H, W)`` in [0, 1].
        method: ``"adain"`` or ``"efdm"``.

    Returns:
        ``(loss_c, loss_s)``: scalar tensors, unweighted.
    """
    enc = stylizer.encoder
    with torch.no_grad():
        style_feats = enc.features(style)
        content_feat = enc(content)
        code = stylizer._code(style_feats[-1], method)
        target = stylizer._transfer(content_feat, code, method, None, False)
    out_feats = enc.features(stylizer.decoder(target))
    loss_c = F.mse_loss(out_feats[-1], target)
    loss_s = content.new_zeros(())
    for out_f, style_f in zip(out_feats, style_feats):
        o_mean, o_std = instance_stats(out_f)
        s_mean, s_std = instance_stats(style_f)
        loss_s = loss_s + F.mse_loss(o_mean, s_mean) + F.mse_loss(o_std, s_std)
    return loss_c, loss_s


def _load_networks(cfg: TrainDecoderConfig) -> AdaINStylizer:
    if cfg.vgg is None:
        from ..hub import download as fetch

        vgg_path = fetch("adain-vgg", download=True)
    else:
        vgg_path = Path(cfg.vgg)
    vgg_state = load_state_file(vgg_path, "VGG encoder")
    with torch.device("meta"):
        vgg = build_vgg()
    _load_into(vgg, vgg_state, "VGG encoder", vgg_path)
    with torch.random.fork_rng(devices=[]):  # seeded init without touching the global RNG
        torch.manual_seed(cfg.seed)
        decoder = build_decoder()
    if cfg.decoder is not None:
        _load_into(decoder, load_state_file(cfg.decoder, "decoder"), "decoder", cfg.decoder)
    return AdaINStylizer(vgg, decoder, method=cfg.method)


def train_decoder(config: TrainDecoderConfig) -> dict[str, Any]:
    """Train (or resume training) a decoder; returns a summary with the final loss values.

    Writes into ``output_dir``, each file atomically: ``checkpoint.pt`` (decoder, optimizer,
    iteration) every ``save_every`` iterations and at the end, ``decoder_iter_<n>.pth`` and
    ``decoder.pth`` (state_dicts in the published layout, loadable by
    :meth:`AdaINStylizer.from_files`) and ``log.jsonl`` (iteration, lr, losses).

    Raises:
        DataError: a folder is missing or holds no images.
        MissingFileError: the VGG weights are missing.
        InvalidArgumentError: a bad setting.
    """
    cfg = config
    cfg.validate()
    contents = list_images(cfg.content_dir, cfg.extensions)
    styles = list_images(cfg.style_dir, cfg.extensions)
    device = resolve_device(cfg.device)
    net = _load_networks(cfg).to(device)
    net.decoder.train()
    optimizer = torch.optim.Adam(net.decoder.parameters(), lr=cfg.lr)
    out = cfg.output_dir
    out.mkdir(parents=True, exist_ok=True)
    start, history = 0, []
    ckpt_path = out / CHECKPOINT
    if cfg.resume and ckpt_path.is_file():
        state = load_torch_file(ckpt_path, what="decoder training checkpoint", map_location=device,
                                fix="Delete it to train from iteration 0")
        net.decoder.load_state_dict(state["decoder"])
        optimizer.load_state_dict(state["optimizer"])
        start = int(state["iteration"])
        history = json.loads(state["history"])
        log.info("resuming from %s at iteration %d", ckpt_path, start)
    content_iter = _stream(contents, cfg, cfg.seed, start)
    style_iter = _stream(styles, cfg, cfg.seed + 1, start)
    t0 = time.perf_counter()
    loss_c = loss_s = torch.zeros(())
    for i in range(start, cfg.max_iter):
        lr = cfg.lr / (1.0 + cfg.lr_decay * i)
        for group in optimizer.param_groups:
            group["lr"] = lr
        content = next(content_iter).to(device).float().div_(255)
        style = next(style_iter).to(device).float().div_(255)
        n = min(len(content), len(style))
        loss_c, loss_s = decoder_losses(net, content[:n], style[:n], cfg.method)
        loss = cfg.content_weight * loss_c + cfg.style_weight * loss_s
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        done = i + 1
        if done % cfg.log_every == 0 or done == cfg.max_iter:
            history.append({"iteration": done, "lr": lr, "loss_content": float(loss_c.detach()),
                            "loss_style": float(loss_s.detach())})  # fmt: skip
        if done % cfg.save_every == 0 or done == cfg.max_iter:
            _save(net, optimizer, done, history, out)
    seconds = time.perf_counter() - t0
    return {
        "iterations": cfg.max_iter,
        "resumed_from": start,
        "seconds": round(seconds, 3),
        "loss_content": float(loss_c.detach()),
        "loss_style": float(loss_s.detach()),
        "decoder": str(out / "decoder.pth"),
        "checkpoint": str(ckpt_path),
        "device": str(device),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
    }


def _save(net: AdaINStylizer, optimizer: Any, iteration: int, history: list, out: Path) -> None:
    decoder_state = {k: v.detach().cpu() for k, v in net.decoder.state_dict().items()}
    with atomic_write(out / f"decoder_iter_{iteration}.pth") as tmp:
        torch.save(decoder_state, tmp)
    with atomic_write(out / "decoder.pth") as tmp:
        torch.save(decoder_state, tmp)
    with atomic_write(out / "log.jsonl") as tmp:
        tmp.write_text("".join(json.dumps(r) + "\n" for r in history))
    state = {"decoder": decoder_state, "optimizer": optimizer.state_dict(),
             "iteration": iteration, "history": json.dumps(history)}  # fmt: skip
    with atomic_write(out / CHECKPOINT) as tmp:  # last: a crash before it resumes earlier
        torch.save(state, tmp)
    log.info("iteration %d: saved %s", iteration, out / CHECKPOINT)
