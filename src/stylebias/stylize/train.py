"""Train a style-transfer network with its published recipe (``stylebias train-decoder``).

``method="adain"`` / ``"efdm"``: the recipe of naoto0804/pytorch-AdaIN ``train.py``. The VGG
encoder is frozen; content and style images are resized to 512 x 512 and randomly cropped to
256 x 256; the decoder maps ``t = transfer(relu4_1(content), relu4_1(style))`` back to an image
``g(t)``; the loss is

    content_weight * MSE(relu4_1(g(t)), t)
    + style_weight * sum over relu1_1..relu4_1 of MSE(mean) + MSE(std) against the style

with Adam (lr 1e-4), the learning rate decayed as ``lr / (1 + lr_decay * iteration)``
(lr_decay 5e-5), batch 8. ``transfer`` is AdaIN or EFDM, so the same command trains a decoder
for EFDM, or for another encoder file in the published layout.

``method="contrastive"``: the recipe of HalbertCH/IEContraAST ``train.py``, in
:mod:`stylebias.stylize.train_contrastive`.

The loop, data, checkpoints, progress and DDP are shared: :mod:`stylebias.stylize.train_loop`.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_choice, check_positive
from ..errors import InvalidArgumentError
from ..functional import instance_stats
from ..io import list_images
from ..runtime import check_device, distributed, resolve_device
from .dataset import DEFAULT_EXTENSIONS
from .network import build_decoder, build_vgg, vgg_width
from .stylizer import METHODS, AdaINStylizer, _load_into, load_state_file
from .train_loop import CHECKPOINT, GradSync, Recipe, run_recipe

__all__ = ["TrainDecoderConfig", "train_decoder", "decoder_losses", "TRAIN_METHODS"]

log = logging.getLogger(__name__)

#: Methods ``train_decoder`` trains: AdaIN's decoder for each transfer, and the contrastive network.
TRAIN_METHODS = (*METHODS, "contrastive")
#: Defaults that differ between the references: (AdaIN/EFDM, contrastive).
_BATCH_SIZE = {"adain": 8, "efdm": 8, "contrastive": 12}
_STYLE_WEIGHT = {"adain": 10.0, "efdm": 10.0, "contrastive": 1.0}
#: The discriminator's coarsest scale (a quarter of the crop) must leave its instance norms
#: more than one position: 32 px there.
CONTRASTIVE_MIN_CROP = 128


@dataclass
class TrainDecoderConfig:
    """Settings of :func:`train_decoder`; the defaults are the published recipe.

    Args:
        content_dir: content images (COCO in the paper), searched recursively.
        style_dir: style images (WikiArt in the paper), searched recursively.
        output_dir: checkpoints (``checkpoint.pt``), weights in the published layout
            (``decoder_iter_<n>.pth`` and ``decoder.pth``; for contrastive also
            ``transformer_iter_<n>.pth`` and ``transformer.pth``) and ``log.jsonl``.
        vgg: ``vgg_normalised.pth``; None: the published file from the cache.
        decoder: a decoder to start from; None: PyTorch's default initialisation.
        transformer: contrastive only: a ``transformer_iter_*.pth`` to start from.
        method: ``"adain"`` or ``"efdm"`` (the feature transform the decoder learns to invert)
            or ``"contrastive"`` (IEContraAST: decoder, SANet transform, projection heads and
            discriminator are trained).
        lr: Adam learning rate.
        lr_decay: ``lr_i = lr / (1 + lr_decay * i)``.
        max_iter: iterations in total (counting those before a resume).
        batch_size: AdaIN: content and style images per step (default 8). Contrastive:
            stylizations per step, even, >= 4: ``batch_size / 2`` contents and as many styles,
            each content with two styles and each style with two contents (default 12).
            Per process under DDP.
        content_weight: weight of the content loss.
        style_weight: weight of the style loss; default 10 (AdaIN's README), 1 (contrastive).
        identity_weight: contrastive: weight of the pixel identity loss (50).
        identity_feature_weight: contrastive: weight of the feature identity loss (1).
        contrastive_content_weight: contrastive: weight of the content contrastive loss.
        contrastive_style_weight: contrastive: weight of the style contrastive loss.
        gan_weight: contrastive: weight of the generator's adversarial loss.
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
        progress: show a progress bar (rank 0 only).
    """

    content_dir: Path
    style_dir: Path
    output_dir: Path
    vgg: Path | None = None
    decoder: Path | None = None
    transformer: Path | None = None
    method: str = "adain"
    lr: float = 1e-4
    lr_decay: float = 5e-5
    max_iter: int = 160_000
    batch_size: int | None = None
    content_weight: float = 1.0
    style_weight: float | None = None
    identity_weight: float = 50.0
    identity_feature_weight: float = 1.0
    contrastive_content_weight: float = 0.3
    contrastive_style_weight: float = 0.3
    gan_weight: float = 5.0
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
    progress: bool = True

    def validate(self) -> None:
        """Check every value; raises ``InvalidArgumentError`` naming the bad one."""
        for name in ("content_dir", "style_dir", "output_dir"):
            setattr(self, name, Path(getattr(self, name)))
        check_device(self.device)
        check_choice(self.method, TRAIN_METHODS, "method")
        if self.batch_size is None:
            self.batch_size = _BATCH_SIZE[self.method]
        if self.style_weight is None:
            self.style_weight = _STYLE_WEIGHT[self.method]
        for name in ("lr", "content_weight", "style_weight", "identity_weight", "identity_feature_weight",
                     "contrastive_content_weight", "contrastive_style_weight", "gan_weight"):  # fmt: skip
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
        if self.method == "contrastive":
            self._validate_contrastive()
        elif self.transformer is not None:
            raise InvalidArgumentError(
                f"transformer (--transformer) is only trained by method 'contrastive', not {self.method!r}; drop it"
            )

    def _validate_contrastive(self) -> None:
        if self.batch_size < 4 or self.batch_size % 2:
            raise InvalidArgumentError(
                f"batch_size (--batch-size) must be even and >= 4 for method 'contrastive' (half the "
                f"stylizations pair each content with its style, half with the next style); got {self.batch_size}"
            )
        if self.crop < CONTRASTIVE_MIN_CROP or self.crop % 16:
            raise InvalidArgumentError(
                f"crop (--crop) must be a multiple of 16 and >= {CONTRASTIVE_MIN_CROP} for method "
                f"'contrastive' (the discriminator's coarsest scale sees a quarter of it); got {self.crop}"
            )


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


def load_training_vgg(cfg: TrainDecoderConfig) -> nn.Sequential:
    """The frozen encoder: ``cfg.vgg``, or the published file from the cache."""
    if cfg.vgg is None:
        from ..hub import download as fetch

        vgg_path = fetch("adain-vgg", download=True)
    else:
        vgg_path = Path(cfg.vgg)
    vgg_state = load_state_file(vgg_path, "VGG encoder")
    with torch.device("meta"):
        vgg = build_vgg(vgg_width(vgg_state))
    _load_into(vgg, vgg_state, "VGG encoder", vgg_path)
    return vgg


def load_start_decoder(decoder: nn.Sequential, cfg: TrainDecoderConfig) -> None:
    """Overwrite the freshly initialised ``decoder`` with ``cfg.decoder`` when given."""
    if cfg.decoder is not None:
        _load_into(decoder, load_state_file(cfg.decoder, "decoder"), "decoder", cfg.decoder)


class AdaINRecipe:
    """The AdaIN/EFDM decoder recipe as a :class:`~stylebias.stylize.train_loop.Recipe`."""

    min_batch = 1

    def __init__(self, cfg: TrainDecoderConfig, device: torch.device) -> None:
        vgg = load_training_vgg(cfg)
        with torch.random.fork_rng(devices=[]):  # seeded init without touching the global RNG
            torch.manual_seed(cfg.seed)
            decoder = build_decoder(vgg[2].out_channels)
        load_start_decoder(decoder, cfg)
        self.net = AdaINStylizer(vgg, decoder, method=cfg.method).to(device)
        self.net.decoder.train()
        self.cfg = cfg
        self.modules = {"decoder": self.net.decoder}
        self.published = {"decoder": self.net.decoder}
        self.optimizers = {"optimizer": torch.optim.Adam(self.net.decoder.parameters(), lr=cfg.lr)}
        self.content_batch = self.style_batch = cfg.batch_size

    def step(self, content: Tensor, style: Tensor, sync: GradSync) -> dict[str, Tensor]:
        n = min(len(content), len(style))
        loss_c, loss_s = decoder_losses(self.net, content[:n], style[:n], self.cfg.method)
        loss = self.cfg.content_weight * loss_c + self.cfg.style_weight * loss_s
        optimizer = self.optimizers["optimizer"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        sync(self.net.decoder.parameters())
        optimizer.step()
        return {"content": loss_c, "style": loss_s}


def _build_recipe(cfg: TrainDecoderConfig, device: torch.device) -> Recipe:
    if cfg.method == "contrastive":
        from .train_contrastive import ContrastiveRecipe

        return ContrastiveRecipe(cfg, device)
    return AdaINRecipe(cfg, device)


def train_decoder(config: TrainDecoderConfig) -> dict[str, Any]:
    """Train (or resume training) a decoder, or the contrastive network; returns a summary
    with the final (unweighted) loss values.

    Writes into ``output_dir`` (rank 0 only under torchrun), each file atomically:
    ``checkpoint.pt`` (every trained module and optimizer, the iteration and the log) every
    ``save_every`` iterations and at the end; ``decoder_iter_<n>.pth`` and ``decoder.pth``
    (and for contrastive ``transformer_iter_<n>.pth`` and ``transformer.pth``), state_dicts in
    the published layout, loadable by :meth:`AdaINStylizer.from_files` /
    :meth:`~stylebias.stylize.ContrastiveStylizer.from_files`; and ``log.jsonl`` (iteration,
    lr, losses). A resumed run continues as the uninterrupted run would have: the same images,
    crops and weights, bit for bit on the CPU (CUDA kernels are not all deterministic).

    Raises:
        DataError: a folder is missing or holds no images; a checkpoint of another method.
        MissingFileError: the VGG weights are missing.
        InvalidArgumentError: a bad setting.
    """
    cfg = config
    cfg.validate()
    contents = list_images(cfg.content_dir, cfg.extensions)
    styles = list_images(cfg.style_dir, cfg.extensions)
    device = resolve_device(cfg.device)
    rank, world = distributed()
    recipe = _build_recipe(cfg, device)
    out = cfg.output_dir
    out.mkdir(parents=True, exist_ok=True)
    result = run_recipe(recipe, cfg, contents, styles, device=device, rank=rank, world=world)
    return {
        **result,
        **{role: str(out / f"{role}.pth") for role in recipe.published},
        "checkpoint": str(out / CHECKPOINT),
        "device": str(device),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
    }
