"""Train the contrastive style transfer network (``stylebias train-decoder --method contrastive``).

The recipe of HalbertCH/IEContraAST (``train.py`` and ``Net.forward`` of ``net.py``):

- batch: ``h = batch_size / 2`` contents ``c_i`` and ``h`` styles ``s_i`` make ``2h``
  stylizations, ``(c_i, s_i)`` and ``(c_{i+1 mod h}, s_i)``
  (:func:`~stylebias.stylize.contrastive_losses.reference_pairs`);
- generator (decoder, SANet transform, both projection heads), one Adam (lr 1e-4):
  ``content_weight * [mse(mvn(relu4_1)) + mse(mvn(relu5_1))]`` of the stylization against its
  content, ``style_weight * sum over relu1_1..relu5_1 of mse(mean) + mse(std)`` against its
  style, ``50 * pixel identity + 1 * feature identity`` (the content and the style each
  stylized with itself), ``0.3 * content contrastive + 0.3 * style contrastive`` (temperature
  0.2; style embeddings of relu3_1, content embeddings of relu4_1, each summed over
  positions, through its MLP, L2-normalised) and ``5 * LSGAN(D(stylized), 1)``;
- discriminator: the three-scale patch discriminator, its own Adam (lr 1e-4, betas
  (0.5, 0.999)), ``LSGAN(D(style), 1) + LSGAN(D(stylized), 0)``, stepped first each
  iteration, as the reference does; the generator then meets the updated discriminator;
- both learning rates decay as ``lr / (1 + 5e-5 * iteration)``.

The reference evaluates the identity losses and the discriminator's real images on the
doubled batch (every content and style twice); a mean over duplicates is the mean over the
originals, so here each image goes through once: the same losses and gradients, less work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from ..errors import DataError
from .contrastive import ContrastiveStylizer
from .contrastive_heads import MultiDiscriminator, build_projection_content, build_projection_style
from .contrastive_losses import (
    content_contrastive_loss,
    content_loss,
    contrastive_embedding,
    identity_losses,
    lsgan_loss,
    reference_pairs,
    style_contrastive_loss,
    style_loss,
)
from .network import build_decoder
from .sanet import TRANSFORM_KEYS, Transform
from .stylizer import load_state_file
from .train import load_start_decoder, load_training_vgg
from .train_loop import GradSync

if TYPE_CHECKING:
    from .train import TrainDecoderConfig

__all__ = ["ContrastiveRecipe", "encode_levels", "generator_losses"]


def encode_levels(net: ContrastiveStylizer, images: Tensor) -> list[Tensor]:
    """relu1_1, relu2_1, relu3_1, relu4_1 and relu5_1 of ``(B, 3, H, W)`` images
    (``encode_with_intermediate`` of the reference)."""
    feats = net.encoder.features(images)
    return [*feats, net.enc_5(feats[-1])]


def generator_losses(
    net: ContrastiveStylizer,
    projection_style: nn.Module,
    projection_content: nn.Module,
    content: Tensor,
    style: Tensor,
) -> tuple[Tensor, dict[str, Tensor]]:
    """The stylizations of the reference's batch and the generator's losses but the GAN's.

    Args:
        net: the stylizer (its decoder and transform are trained; the VGG is frozen).
        projection_style: relu3_1 head (256 -> 128 -> 128).
        projection_content: relu4_1 head (512 -> 256 -> 128).
        content: ``h >= 2`` RGB images ``(h, 3, H, W)`` in [0, 1], ``H, W`` multiples of 16.
        style: ``h`` RGB images of the same size.

    Returns:
        ``(stylized, losses)``: ``(2h, 3, H, W)`` stylizations in :func:`reference_pairs`
        order, and unweighted scalar losses ``content``, ``style``, ``identity`` (pixels),
        ``identity_feature``, ``contrastive_content``, ``contrastive_style``.
    """
    h = len(content)
    content_id, style_id = reference_pairs(h, content.device)
    with torch.no_grad():
        content_feats = encode_levels(net, content)
        style_feats = encode_levels(net, style)
    paired_c = [f[content_id] for f in content_feats]
    paired_s = [f[style_id] for f in style_feats]
    stylized = net.decoder(net.transform(paired_c[3], paired_s[3], paired_c[4], paired_s[4]))
    out_feats = encode_levels(net, stylized)
    loss_c = content_loss(out_feats[3], paired_c[3], norm=True) + content_loss(out_feats[4], paired_c[4], norm=True)
    loss_s = sum((style_loss(o, s) for o, s in zip(out_feats[1:], paired_s[1:])), style_loss(out_feats[0], paired_s[0]))
    icc = net.decoder(net.transform(content_feats[3], content_feats[3], content_feats[4], content_feats[4]))
    iss = net.decoder(net.transform(style_feats[3], style_feats[3], style_feats[4], style_feats[4]))
    identity, identity_feature = identity_losses(
        icc, content, iss, style, encode_levels(net, icc), content_feats, encode_levels(net, iss), style_feats
    )
    style_emb = contrastive_embedding(out_feats[2], projection_style)
    content_emb = contrastive_embedding(out_feats[3], projection_content)
    return stylized, {
        "content": loss_c,
        "style": loss_s,
        "identity": identity,
        "identity_feature": identity_feature,
        "contrastive_content": content_contrastive_loss(content_emb[:h], content_emb[h:]),
        "contrastive_style": style_contrastive_loss(style_emb[:h], style_emb[h:]),
    }


def _load_start_transform(transform: Transform, cfg: TrainDecoderConfig) -> None:
    if cfg.transformer is None:
        return
    state = load_state_file(cfg.transformer, "transformer")
    try:
        transform.load_state_dict(state)
    except RuntimeError as err:
        raise DataError(
            f"transformer weights {cfg.transformer!s} (--transformer) do not fit the IEContraAST layout "
            f"(keys {', '.join(TRANSFORM_KEYS[:2])}, ..., {TRANSFORM_KEYS[-1]}): {err}"
        ) from None


class ContrastiveRecipe:
    """The IEContraAST recipe as a :class:`~stylebias.stylize.train_loop.Recipe`."""

    min_batch = 2

    def __init__(self, cfg: TrainDecoderConfig, device: torch.device) -> None:
        vgg = load_training_vgg(cfg)
        width = vgg[2].out_channels  # 64 for the published VGG; every network follows it
        with torch.random.fork_rng(devices=[]):  # seeded init without touching the global RNG
            torch.manual_seed(cfg.seed)
            decoder, transform = build_decoder(width), Transform(8 * width)
            proj_style, proj_content = build_projection_style(width), build_projection_content(width)
            discriminator = MultiDiscriminator()
        load_start_decoder(decoder, cfg)
        _load_start_transform(transform, cfg)
        self.net = ContrastiveStylizer(vgg, decoder, transform).to(device)
        self.proj_style, self.proj_content = proj_style.to(device), proj_content.to(device)
        self.discriminator = discriminator.to(device)
        self.cfg = cfg
        self.modules = {"decoder": self.net.decoder, "transformer": self.net.transform,
                        "projection_style": self.proj_style, "projection_content": self.proj_content,
                        "discriminator": self.discriminator}  # fmt: skip
        self.published = {"decoder": self.net.decoder, "transformer": self.net.transform}
        self.generator = [self.net.decoder, self.net.transform, self.proj_style, self.proj_content]
        self.optimizers = {
            "optimizer": torch.optim.Adam([{"params": m.parameters()} for m in self.generator], lr=cfg.lr),
            "optimizer_d": torch.optim.Adam(self.discriminator.parameters(), lr=cfg.lr, betas=(0.5, 0.999)),
        }
        self.content_batch = self.style_batch = cfg.batch_size // 2

    def step(self, content: Tensor, style: Tensor, sync: GradSync) -> dict[str, Tensor]:
        h = min(len(content), len(style))
        content, style = content[:h], style[:h]
        stylized, losses = generator_losses(self.net, self.proj_style, self.proj_content, content, style)
        disc, opt_d = self.discriminator, self.optimizers["optimizer_d"]
        loss_d = lsgan_loss(disc(style), 1.0) + lsgan_loss(disc(stylized.detach()), 0.0)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        sync(disc.parameters())
        opt_d.step()
        disc.requires_grad_(False)  # the generator's step leaves the discriminator's gradients alone
        losses["gan"] = lsgan_loss(disc(stylized), 1.0)
        disc.requires_grad_(True)
        cfg = self.cfg
        weights = {"content": cfg.content_weight, "style": cfg.style_weight, "identity": cfg.identity_weight,
                   "identity_feature": cfg.identity_feature_weight, "gan": cfg.gan_weight,
                   "contrastive_content": cfg.contrastive_content_weight,
                   "contrastive_style": cfg.contrastive_style_weight}  # fmt: skip
        total = sum(weights[name] * loss for name, loss in losses.items())
        optimizer = self.optimizers["optimizer"]
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        sync(p for m in self.generator for p in m.parameters())
        optimizer.step()
        return {**losses, "discriminator": loss_d}
