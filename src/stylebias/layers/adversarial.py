"""Adversarial feature-statistics perturbation (AdvBN, Shu et al., NeurIPS 2021)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from .._checks import check_positive
from ..errors import StyleBiasError
from ..functional import adversarial_style
from .base import StyleLayer, style_layers

__all__ = ["AdversarialStyle", "perturb_style"]


class AdversarialStyle(StyleLayer):
    """Scales feature mean and std by factors found by gradient ascent on the loss.

    The layer is the identity until :func:`perturb_style` has searched for the worst-case
    scales of the current batch; inside that ``with`` block, training forward passes use them.
    The search follows azshue/AdvBN: scales start at 1, take ``steps`` signed-gradient steps of
    ``step_size`` and are clipped to ``[1 - bound, 1 + bound]``; statistics are per channel
    over the batch (``per_instance=False``) as in the paper.

    Where to insert: after an early stage (AdvBN uses the output of ResNet stage 1; use
    ``clamp_min=0`` there to keep the post-ReLU range, as the reference does).

    Args:
        p: probability of applying the found perturbation at a training forward pass.
        steps: gradient-ascent steps of the inner maximisation (paper: 6).
        step_size: signed step per iteration (paper: 0.2).
        bound: the scales stay within ``1 +- bound`` (paper: 1.1).
        per_instance: perturb per-sample statistics with per-sample scales.
        clamp_min: clamp the output from below (e.g. 0 after a ReLU), or None.
        generator: optional ``torch.Generator`` for the firing draw.
        active, layout, prefix_tokens: see :class:`StyleLayer`.

    Example:
        >>> import stylebias
        >>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Flatten(), torch.nn.LazyLinear(2))
        >>> handle = stylebias.attach(model, AdversarialStyle(steps=2), after=["0"])
        >>> x, y = torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 0, 1])
        >>> loss_fn = torch.nn.functional.cross_entropy
        >>> with stylebias.perturb_style(model, loss_fn, x, y):
        ...     loss = loss_fn(model(x), y)
    """

    def __init__(
        self,
        p: float = 1.0,
        steps: int = 6,
        step_size: float = 0.2,
        bound: float = 1.1,
        per_instance: bool = False,
        clamp_min: float | None = None,
        *,
        generator: torch.Generator | None = None,
        active: bool = True,
        layout: str = "nchw",
        prefix_tokens: int | None = None,
    ) -> None:
        super().__init__(p, generator=generator, active=active, layout=layout, prefix_tokens=prefix_tokens)
        if not isinstance(steps, int) or steps < 0:
            raise TypeError(f"steps must be a non-negative int, got {steps!r}")
        self.steps = steps
        self.step_size = check_positive(step_size, "step_size", allow_zero=True)
        self.bound = check_positive(bound, "bound", allow_zero=True)
        self.per_instance = bool(per_instance)
        self.clamp_min = clamp_min
        self.scales: tuple[Tensor, Tensor] | None = None  # (mean_scale, std_scale)
        self.searching = False

    def _new_scales(self, x: Tensor) -> tuple[Tensor, Tensor]:
        shape = (x.shape[0] if self.per_instance else 1, x.shape[1], 1, 1)
        return tuple(  # type: ignore[return-value]
            torch.ones(shape, device=x.device, dtype=torch.float32, requires_grad=True)
            for _ in range(2)
        )

    def sample_params(self, x: Tensor, generator: torch.Generator | None = None) -> dict[str, Any]:
        """The scales in use: the searched ones inside :func:`perturb_style`, else ones."""
        mean_scale, std_scale = self.scales if self.scales is not None else self._new_scales(x)
        return {"mean_scale": mean_scale, "std_scale": std_scale}

    def apply_params(self, x: Tensor, params: dict[str, Any]) -> Tensor:
        out = adversarial_style(x, params["mean_scale"], params["std_scale"], self.per_instance)
        return out if self.clamp_min is None else out.clamp_min(self.clamp_min)

    def is_applicable(self, x: Tensor) -> bool:
        return self.scales is not None and (self.per_instance is False or self.scales[0].shape[0] == x.shape[0])

    def forward_maps(self, x: Tensor, params: dict[str, Any] | None = None) -> Tensor:
        if params is None and self.searching:  # inside the inner maximisation: always on
            if self.scales is None:
                self.scales = self._new_scales(x)
            return self.apply_params(x, self.sample_params(x))
        return super().forward_maps(x, params)


@contextmanager
def perturb_style(
    model: nn.Module,
    loss_fn: Callable[[Any, Any], Tensor],
    inputs: Any,
    targets: Any,
) -> Iterator[list[AdversarialStyle]]:
    """Find worst-case style perturbations for a batch; apply them inside the ``with`` block.

    Runs each :class:`AdversarialStyle` layer's inner maximisation on ``(inputs, targets)``
    with the model in eval mode (batch-norm statistics are used, not updated, as in AdvBN) and
    no parameter gradients. On entering the block the model's modes are restored, and
    training forward passes inside it use the perturbations. A training loop changes by two
    lines::

        with stylebias.perturb_style(model, criterion, x, y):
            loss_adv = criterion(model(x), y)
        loss = criterion(model(x), y) + loss_adv   # AdvBN trains on clean + adversarial

    Args:
        model: the model with AdversarialStyle layers (attached or as submodules). A
            ``DistributedDataParallel`` wrapper is unwrapped for the search.
        loss_fn: ``loss_fn(model(inputs), targets) -> scalar``.
        inputs: the batch, passed to ``model`` as is.
        targets: passed to ``loss_fn``.

    Yields:
        The list of AdversarialStyle layers that were perturbed.

    Raises:
        StyleBiasError: the model has no AdversarialStyle layer, or the forward pass did not
            reach one.
    """
    layers = [m for m in style_layers(model) if isinstance(m, AdversarialStyle) and m.active]
    if not layers:
        raise StyleBiasError(
            "perturb_style found no active AdversarialStyle layer in the model; attach one, e.g. "
            "stylebias.attach(model, 'adversarial_style', after=['layer1'])"
        )
    net = model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model
    modes = {m: m.training for m in net.modules()}
    try:
        net.eval()
        for layer in layers:
            layer.scales, layer.searching = None, True
        for step in range(max(layer.steps for layer in layers)):
            loss = loss_fn(net(inputs), targets)
            missing = [layer for layer in layers if layer.scales is None]
            if missing:
                raise StyleBiasError(
                    f"the forward pass never reached {len(missing)} AdversarialStyle layer(s); "
                    "check where they are attached"
                )
            tensors = [s for layer in layers for s in layer.scales]  # type: ignore[union-attr]
            grads = torch.autograd.grad(loss, tensors, allow_unused=True)
            with torch.no_grad():
                for i, layer in enumerate(layers):
                    if step >= layer.steps:
                        continue
                    for scale, grad in zip(layer.scales, grads[2 * i : 2 * i + 2]):  # type: ignore[arg-type]
                        if grad is not None:
                            scale.add_(layer.step_size * grad.sign())
                        scale.clamp_(1.0 - layer.bound, 1.0 + layer.bound)
    except BaseException:
        for layer in layers:
            layer.scales = None
        raise
    finally:
        for module, mode in modes.items():
            module.training = mode
        for layer in layers:
            layer.searching = False
            if layer.scales is not None:
                layer.scales = tuple(s.detach() for s in layer.scales)  # type: ignore[assignment]
    try:
        yield layers
    finally:
        for layer in layers:
            layer.scales = None
