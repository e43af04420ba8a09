"""Shape-texture debiased training (Li et al., ICLR 2021): cue-conflict images in the loop.

Each step pairs every image of the batch with a shuffled partner from the same batch, as
the reference does (``StyleTransfer.__call__`` in LiYingwei/ShapeTextureDebiasedTraining:
``torch.randperm(n)``, so an image may draw itself), stylizes a ``style_fraction`` of the
images with their partners' textures, and appends the results to the batch (the reference's
``replace=False``: the batch is the B originals plus the stylized copies). An original keeps
its label; a stylized copy gets ``label_gamma`` on its shape class and ``1 - label_gamma`` on
its texture class, and the loss is the cross-entropy averaged over all B + k images, as the
reference's ``mixup_criterion(...).mean()`` computes it.

Not implemented: the reference's auxiliary batch norm for the stylized images (``--mixbn``)
and its multi-grid downsampling of the stylizer's input (``--multi_grid``), both of which its
ImageNet recipes switch on.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.functional import cross_entropy, one_hot

from .._checks import check_prob
from ..stylize.augment import sample_fraction
from ..stylize.pairs import cue_conflict_targets, stylize_pairs
from .methods import ERM, METHODS
from .stylizers import frozen_stylizer

__all__ = ["DebiasedTraining"]


class DebiasedTraining(ERM):
    """Shape-texture debiased training: originals plus cue-conflict copies with soft labels.

    Hyperparameters (defaults from the reference's ``imagenet.py``):

    * ``stylizer`` (``"adain"``), ``stylizer_vgg``/``stylizer_decoder``/``stylizer_transformer``
      (None: the published weights): the frozen stylizer (:mod:`.stylizers`). In direct
      Python use ``stylizer`` may also be a :class:`~stylebias.stylize.Stylizer` or a callable
      ``(content, style) -> images`` (see :func:`~stylebias.stylize.pairs.stylize_pairs`).
    * ``style_alpha`` (0.5, ``--alpha``): degree of stylization in [0, 1].
    * ``label_gamma`` (0.8, ``--label-gamma``): the shape class's share of a stylized
      image's label.
    * ``style_fraction`` (1.0): share of the batch that gets a stylized copy (the reference
      stylizes every image).

    Randomness (partners, which images) draws from ``generator``; the stylizer runs in eval
    mode without gradients, and only the network trains.

    Reference:
        Li et al., "Shape-Texture Debiased Neural Network Training", ICLR 2021,
        arXiv:2010.05981.
    """

    def __init__(self, model: nn.Module, hparams: dict[str, Any], **options: Any) -> None:
        super().__init__(model, hparams, **options)  # the same constructor as every method
        hp = self.hparams
        self.style_alpha = check_prob(hp["style_alpha"], "hparams 'style_alpha'")
        self.label_gamma = check_prob(hp["label_gamma"], "hparams 'label_gamma'")
        self.style_fraction = check_prob(hp["style_fraction"], "hparams 'style_fraction'")
        self.stylizer = frozen_stylizer(hp, "debiased")

    def train(self, mode: bool = True) -> DebiasedTraining:
        super().train(mode)
        if isinstance(self.stylizer, nn.Module):
            self.stylizer.eval()  # frozen: the stylizer stays in eval mode while the network trains
        return self

    def sample_params(self, batch: int) -> dict[str, Tensor]:
        """Each image's partner (a permutation of the batch) and which images are stylized.

        Returns:
            ``{"partner": (B,), "index": (k,) sorted}`` on the CPU, drawn from ``generator``.
        """
        partner = torch.randperm(batch, generator=self.generator)
        index = sample_fraction(batch, self.style_fraction, self.generator)
        return {"partner": partner, "index": index}

    def stylized_copies(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        """``x[index]`` stylized with their partners' textures: ``(k, 3, H, W)`` in [0, 1].

        Args:
            x: ``(B, 3, H, W)`` images in [0, 1].
            params: from :meth:`sample_params`.
        """
        index = params["index"].to(x.device)
        partner = params["partner"].to(x.device)[index]
        return stylize_pairs(self.stylizer, x[index], x[partner], self.style_alpha)

    def soft_targets(self, y: Tensor, params: dict[str, Tensor], num_classes: int) -> Tensor:
        """Labels ``(B + k, K)`` of ``x`` followed by its stylized copies: one-hot for the
        originals, ``label_gamma`` shape / ``1 - label_gamma`` texture for the copies."""
        index = params["index"].to(y.device)
        partner = params["partner"].to(y.device)[index]
        return torch.cat([one_hot(y, num_classes).float(),
                          cue_conflict_targets(y[index], y[partner], num_classes, self.label_gamma)])

    def update(self, batch: tuple[Tensor, ...]) -> dict[str, float]:
        x, y = batch[0], batch[1]
        params = self.sample_params(x.shape[0])
        inputs = torch.cat([x, self.stylized_copies(x, params)])
        with self.autocast():
            logits = self.model(inputs)  # one forward of originals and copies (one DDP all-reduce)
        targets = self.soft_targets(y, params, logits.shape[1])
        loss = cross_entropy(logits.float(), targets, label_smoothing=self.hparams["label_smoothing"])
        self.backward(loss)
        self.optimizer_step()
        return {"loss": loss.item(), "stylized": float(params["index"].numel())}


METHODS.register("debiased", DebiasedTraining)
