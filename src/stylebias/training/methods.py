"""Training methods: each one a class with ``update(batch) -> dict`` and ``predict(x)``.

Every method takes the same constructor arguments (:class:`Method`). ``ERM`` is plain
empirical risk minimisation; every registered style layer is also a method: ERM with that
layer attached (``METHODS`` lists them without a line of their own, so a newly registered
layer trains at once), except the adversarial layer, whose update runs the inner
maximisation (``AdversarialStyleMethod``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.functional import cross_entropy

from .._registry import Registry
from ..attach import AttachHandle, attach
from ..errors import InvalidArgumentError
from ..layers import STYLE_LAYERS, layer_hyperparameters, perturb_style
from ..presets import AUTO_ORDER, PRESETS, fitting_preset

__all__ = ["Method", "ERM", "AdversarialStyleMethod", "METHODS", "create_method", "pick_preset"]


def pick_preset(model: nn.Module, layer: str) -> str:
    """The attachment preset that fits ``model``'s module names, for ``preset="auto"``.

    Tries the presets of :data:`stylebias.presets.AUTO_ORDER` (ResNets, ViT/DeiT, Swin and
    ConvNeXt from timm and torchvision); pAdaIN falls back to ``"convs"``.
    """
    found = fitting_preset(model, layer)
    if found is not None:
        return found
    if layer == "padain":
        return "convs"
    raise InvalidArgumentError(
        f"no attachment preset fits this model for {layer!r} (it has none of the module names of "
        f"the presets {', '.join(AUTO_ORDER)}); name the modules with layer_after=[...] "
        "(--layer-after)"
    )


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


class Method(nn.Module):
    """Base class: owns the model and its optimiser; the loop calls update() and predict().

    Every method has this constructor, so :func:`create_method` builds any of them alike.

    Args:
        model: the network (possibly DDP-wrapped by the caller after construction).
        hparams: merged hyperparameters (see :mod:`stylebias.training.hparams`); those that
            are constructor arguments of the style layer configure it.
        layer: registry name of a style layer to attach, or None (the registry binds it).
        layer_after: module names for the layer; default: the preset's placement.
        layer_preset: ``"auto"`` (the preset that fits the model) or a preset name.
        generator: seeds the method's own randomness (style layers, augmentations); None: a
            generator seeded with 0, never torch's global one.
        amp_dtype: autocast dtype, or None for full precision.
    """

    def __init__(
        self,
        model: nn.Module,
        hparams: dict[str, Any],
        *,
        layer: str | None = None,
        layer_after: list[str] | None = None,
        layer_preset: str = "auto",
        generator: torch.Generator | None = None,
        amp_dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.hparams = dict(hparams)
        # direct API use without a generator still never draws from the global RNG
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        generator = self.generator
        self.amp_dtype = amp_dtype
        self.optimizer: torch.optim.Optimizer | None = None
        self.scaler: torch.amp.GradScaler | None = None
        self.layer = STYLE_LAYERS.canonical(layer) if layer is not None else None
        self.handle: AttachHandle | None = None
        if self.layer is not None:
            self.handle = _attach_layer(model, self.layer, self.hparams, layer_after, layer_preset, generator)

    def distribute(self, device: torch.device) -> None:
        """Wrap ``self.model`` in DistributedDataParallel (one process of a torchrun run);
        call it after ``to(device)`` and before :meth:`configure_optimizer`. The method holds
        the only handle to the network; ``stylebias.runtime.unwrap`` reaches the bare one."""
        self.model = nn.parallel.DistributedDataParallel(
            self.model, device_ids=[device.index] if device.type == "cuda" else None
        )

    def configure_optimizer(self) -> torch.optim.Optimizer:
        """Create the optimiser (after any DDP wrapping of ``self.model``)."""
        hp = self.hparams
        params = [p for p in self.model.parameters() if p.requires_grad]
        if hp["optimizer"] == "sgd":
            self.optimizer = torch.optim.SGD(params, lr=hp["lr"], momentum=hp["momentum"], weight_decay=hp["weight_decay"], nesterov=True)
        elif hp["optimizer"] in ("adam", "adamw"):
            cls = torch.optim.AdamW if hp["optimizer"] == "adamw" else torch.optim.Adam
            self.optimizer = cls(params, lr=hp["lr"], weight_decay=hp["weight_decay"])
        else:
            raise InvalidArgumentError(f"optimizer must be 'sgd', 'adam' or 'adamw', got {hp['optimizer']!r}")
        device = next(self.model.parameters()).device
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.amp_dtype == torch.float16)
        return self.optimizer

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        device = next(self.model.parameters()).device
        with torch.autocast(device.type, dtype=self.amp_dtype or torch.float32, enabled=self.amp_dtype is not None):
            yield

    def criterion(self, logits: Tensor, targets: Tensor) -> Tensor:
        return cross_entropy(logits.float(), targets, label_smoothing=self.hparams["label_smoothing"])

    def backward(self, loss: Tensor) -> None:
        assert self.scaler is not None, "configure_optimizer() first"
        self.scaler.scale(loss).backward()

    def optimizer_step(self) -> None:
        assert self.optimizer is not None and self.scaler is not None
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)

    def update(self, batch: tuple[Tensor, ...]) -> dict[str, float]:
        """One optimisation step on ``batch = (images, labels, ...)``; returns logs."""
        raise NotImplementedError

    @torch.inference_mode()
    def predict(self, x: Tensor) -> Tensor:
        """Logits (B, K) in float32. Runs the unwrapped model: under DDP, evaluation happens
        on rank 0 alone and must not enter DDP's collective forward."""
        with self.autocast():
            return _unwrap(self.model)(x).float()


class ERM(Method):
    """Empirical risk minimisation: cross-entropy on the batch."""

    def update(self, batch: tuple[Tensor, ...]) -> dict[str, float]:
        x, y = batch[0], batch[1]
        with self.autocast():
            loss = self.criterion(self.model(x), y)
        self.backward(loss)
        self.optimizer_step()
        return {"loss": loss.item()}


def _attach_layer(
    model: nn.Module,
    layer: str,
    hparams: dict[str, Any],
    layer_after: list[str] | None,
    layer_preset: str,
    generator: torch.Generator | None,
) -> AttachHandle:
    """Attach ``layer`` configured by ``hparams``, at ``layer_after`` or the preset's places.

    Only values that differ from the layer's own defaults are passed, so a preset's paper
    values (AdvBN's ``clamp_min=0`` after a ReLU stage) apply unless hparams change them.
    A layer added on top of another method reads its values as ``"<layer>.<name>"`` (see
    ``TrainConfig.layer``); hparams holding any such key are read that way alone, so the
    method's own ``alpha`` or ``p`` never configures the layer.
    At ``layer_after`` places the layers take the layout of the preset that fits the model
    (tokens in a ViT, channels-last in a Swin), as its blocks and stages all share it.
    """
    params = layer_hyperparameters(STYLE_LAYERS.get(layer))
    prefix = f"{layer}."
    if any(k.startswith(prefix) for k in hparams):
        hparams = {k[len(prefix):]: v for k, v in hparams.items() if k.startswith(prefix)}
    kwargs = {k: v for k, v in hparams.items() if k in params and v != params[k].default}
    if layer_after:
        fitting = fitting_preset(model)
        layout = PRESETS.get(fitting).layout if fitting is not None else "nchw"
        if layout != "nchw":
            kwargs["layout"] = layout
        return attach(model, layer, after=layer_after, generator=generator, **kwargs)
    preset = pick_preset(model, layer) if layer_preset == "auto" else layer_preset
    return attach(model, layer, preset=preset, generator=generator, **kwargs)


class AdversarialStyleMethod(ERM):
    """AdvBN training: clean loss plus the loss under the worst-case style perturbation."""

    def update(self, batch: tuple[Tensor, ...]) -> dict[str, float]:
        x, y = batch[0], batch[1]
        net = _unwrap(self.model)
        with contextlib.ExitStack() as stack:
            with self.autocast():  # the inner maximisation runs at the training precision
                stack.enter_context(perturb_style(net, self.criterion, x, y))
            if net is not self.model:  # DDP: accumulate locally, synchronise on the clean pass
                stack.enter_context(self.model.no_sync())
            with self.autocast():
                loss_adv = self.criterion(self.model(x), y)
            self.backward(loss_adv)
        with self.autocast():
            loss_clean = self.criterion(self.model(x), y)
        self.backward(loss_clean)
        self.optimizer_step()
        return {"loss": loss_clean.item(), "loss_adv": loss_adv.item()}


class _MethodRegistry(Registry[Any]):
    """The method registry, which also holds every style layer as ERM with that layer attached.

    Style layers are looked up when the registry is read, so a layer registered after import
    (a plug-in, a test) is a method too; an explicit entry (e.g. ``adversarial_style``) wins.
    """

    def _sync(self) -> None:
        for name in STYLE_LAYERS:
            if not Registry.__contains__(self, name):
                super().register(name, partial(ERM, layer=name))

    def canonical(self, name: str) -> str:
        self._sync()
        return super().canonical(name)

    def list(self, pattern: str = "*") -> list[str]:
        self._sync()
        return super().list(pattern)

    def __contains__(self, name: object) -> bool:
        if not super().__contains__(name):
            self._sync()
        return super().__contains__(name)

    def __iter__(self) -> Iterator[str]:
        self._sync()
        return super().__iter__()

    def __len__(self) -> int:
        self._sync()
        return super().__len__()


METHODS: Registry[Any] = _MethodRegistry("method")
METHODS.register("erm", ERM)
METHODS.register("adversarial_style", partial(AdversarialStyleMethod, layer="adversarial_style"))


def create_method(
    name: str,
    model: nn.Module,
    hparams: dict[str, Any],
    *,
    layer: str | None = None,
    layer_after: list[str] | None = None,
    layer_preset: str = "auto",
    generator: torch.Generator | None = None,
    amp_dtype: torch.dtype | None = None,
) -> Method:
    """Build the method registered as ``name`` around ``model``, with style ``layer`` added on
    top when given (an image-level method plus a feature-level layer; its hyperparameters in
    ``hparams`` as ``"<layer>.<name>"``, see :func:`stylebias.training.hparams.default_hparams`)."""
    extra: dict[str, Any] = {}
    if layer is not None:
        from .config import check_composed_layer

        check_composed_layer(name, layer)
        extra["layer"] = STYLE_LAYERS.canonical(layer)
    return METHODS.get(name)(
        model, hparams, layer_after=layer_after, layer_preset=layer_preset, generator=generator, amp_dtype=amp_dtype,
        **extra,
    )
