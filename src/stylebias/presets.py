"""Attachment presets: where each style layer goes in one family of backbones.

A preset names, per style layer, the modules after which :func:`stylebias.attach` runs it,
the layout of those modules' outputs (``(B, C, H, W)`` maps, ``(B, H, W, C)`` channels-last
maps or ``(B, N, C)`` tokens) and the module names a model must have for the preset to fit.
CNN placements follow each layer's paper. For transformers and ConvNeXt, only MixStyle on
ViT/DeiT has a published placement (TFS-ViT); every other entry is the analogue of the CNN
placement, stated as such in the preset's description and the comments below: after early
blocks or stages, never after the last one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from torch import nn

from ._registry import Registry
from .errors import InvalidArgumentError
from .functional.layout import LAYOUTS
from .layers.create import STYLE_LAYERS

__all__ = [
    "Preset", "PRESETS", "AUTO_ORDER", "list_presets", "fitting_preset", "model_prefix_tokens",
    "all_convs", "early_blocks", "blocks_but_last", "block_at_fraction",
]

Placement = Union[Sequence[str], Callable[[nn.Module], list[str]]]


@dataclass(frozen=True)
class Preset:
    """Where each style layer goes in one family of backbones.

    Attributes:
        name: registry name.
        description: one line for ``stylebias list presets``.
        placements: layer registry name -> module names (or a function of the model).
        defaults: layer registry name -> constructor defaults the papers use at those places.
        requires: module names the model must have for the preset to apply.
        layout: what the placed modules return: ``"nchw"``, ``"nhwc"`` or ``"tokens"``
            (see :mod:`stylebias.functional.layout`); the layers are built with it.
    """

    name: str
    description: str
    placements: dict[str, Placement]
    defaults: dict[str, dict[str, Any]] = field(default_factory=dict)
    requires: tuple[str, ...] = ()
    layout: str = "nchw"

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise InvalidArgumentError(f"preset {self.name!r}: layout must be one of {LAYOUTS}, got {self.layout!r}")

    def fits(self, model: nn.Module) -> bool:
        """Whether ``model`` has every module this preset requires."""
        names = dict(model.named_modules())
        return bool(self.requires) and all(n in names for n in self.requires)


def all_convs(model: nn.Module) -> list[str]:
    """Names of every ``nn.Conv2d`` in the model (pAdaIN goes after each one)."""
    return [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def _numbered_children(model: nn.Module, container: str) -> list[str]:
    """Dotted names of the children of ``container`` in order (``blocks.0``, ``blocks.1``, ...)."""
    parent = dict(model.named_modules()).get(container)
    if parent is None:
        raise InvalidArgumentError(f"the model has no module {container!r} that this preset places layers in")
    return [f"{container}.{name}" for name, _ in parent.named_children()]


def early_blocks(container: str, fraction: float) -> Callable[[nn.Module], list[str]]:
    """Placement: the first ``fraction`` of the blocks in ``container`` (at least one), never the last."""

    def place(model: nn.Module) -> list[str]:
        blocks = _numbered_children(model, container)
        count = min(max(int(fraction * len(blocks)), 1), max(len(blocks) - 1, 1))
        return blocks[:count]

    place.__doc__ = f"the first {fraction:.0%} of {container}, never the last block"
    return place


def blocks_but_last(container: str) -> Callable[[nn.Module], list[str]]:
    """Placement: every block in ``container`` except the last."""

    def place(model: nn.Module) -> list[str]:
        blocks = _numbered_children(model, container)
        return blocks[:-1] if len(blocks) > 1 else blocks

    return place


def block_at_fraction(container: str, fraction: float) -> Callable[[nn.Module], list[str]]:
    """Placement: the one block that ends the first ``fraction`` of ``container`` (e.g. 1/4 = stage 1 of 4)."""

    def place(model: nn.Module) -> list[str]:
        blocks = _numbered_children(model, container)
        return [blocks[max(int(fraction * len(blocks)) - 1, 0)]]

    return place


def _swin_blocks_but_last(stages: Sequence[str]) -> Callable[[nn.Module], list[str]]:
    """Placement: every transformer block of the given stages except the network's last."""

    def place(model: nn.Module) -> list[str]:
        blocks = [b for stage in stages for b in _numbered_children(model, stage)]
        return blocks[:-1]

    return place


def model_prefix_tokens(model: nn.Module) -> int | None:
    """How many class/distillation/register tokens lead the token sequence of ``model``.

    timm's ``num_prefix_tokens`` (1 for ViT, 2 for distilled DeiT, more with register tokens);
    1 for a torchvision ``VisionTransformer`` (its ``class_token``); None if neither is found.
    The first submodule that says is used, so a wrapped model works too.
    """
    for module in model.modules():
        count = getattr(module, "num_prefix_tokens", None)
        if isinstance(count, int) and not isinstance(count, bool):
            return count
        if isinstance(getattr(module, "class_token", None), nn.Parameter):
            return 1
    return None


PRESETS: Registry[Preset] = Registry("preset")
PRESETS.register(
    "resnet",
    Preset(
        name="resnet",
        description="torchvision/timm ResNet, ResNeXt, Wide ResNet (conv1, maxpool, layer1-4)",
        placements={
            "padain": all_convs,  # after every conv, before its BN (pAdaIN paper)
            "mixstyle": ["layer1", "layer2", "layer3"],  # stages 1-3, never the last (MixStyle)
            "efdmix": ["layer1", "layer2", "layer3"],  # as MixStyle (EFDM paper)
            "dsu": ["conv1", "maxpool", "layer1", "layer2", "layer3", "layer4"],  # DSU's 6 places
            "adversarial_style": ["layer1"],  # AdvBN perturbs the output of stage 1
        },
        defaults={"adversarial_style": {"clamp_min": 0.0}},  # post-ReLU features stay >= 0
        requires=("layer1", "layer2", "layer3", "layer4"),
    ),
)
PRESETS.register(
    "resnet3",
    Preset(
        name="resnet3",
        description="three-stage ResNets for small images: CIFAR ResNets, stylebias SmallResNet (conv1, layer1-3)",
        placements={
            "padain": all_convs,
            "mixstyle": ["layer1", "layer2"],  # all but the last stage
            "efdmix": ["layer1", "layer2"],
            "dsu": ["conv1", "layer1", "layer2", "layer3"],
            "adversarial_style": ["layer1"],
        },
        defaults={"adversarial_style": {"clamp_min": 0.0}},
        requires=("conv1", "layer1", "layer2", "layer3"),
    ),
)
PRESETS.register(
    "convs",
    Preset(
        name="convs",
        description="any CNN: after every Conv2d (the pAdaIN recipe, for any layer)",
        placements={name: all_convs for name in STYLE_LAYERS},
    ),
)


def _vit_placements(container: str) -> dict[str, Placement]:
    # MixStyle: TFS-ViT (Noori et al., "TFS-ViT: Token-level Feature Stylization for Domain
    # Generalization", arXiv:2303.15698) mixes token statistics after one block per iteration,
    # drawn from the first 70% of the blocks (DeiT-Small: blocks 1-8 of 12); here a layer with
    # probability p follows each of those blocks. TFS-ViT's statistics include the class token
    # and it swaps the stylized values into a random half of the tokens; here every patch
    # token is restyled and the class/distillation tokens are left alone.
    # The others have no ViT paper: the same early blocks (EFDMix, DSU: as MixStyle, as on
    # ResNets), every block but the last (pAdaIN's "after every conv"), and the end of the
    # first quarter of the blocks (AdvBN's stage 1 of 4).
    return {
        "mixstyle": early_blocks(container, 0.7),
        "efdmix": early_blocks(container, 0.7),
        "dsu": early_blocks(container, 0.7),
        "padain": blocks_but_last(container),
        "adversarial_style": block_at_fraction(container, 0.25),
    }


PRESETS.register(
    "vit",
    Preset(
        name="vit",
        description="timm ViT/DeiT (blocks.N; tokens, class/distillation tokens untouched): MixStyle "
        "after the first 70% of the blocks as TFS-ViT; other layers by CNN analogy (no paper)",
        placements=_vit_placements("blocks"),
        requires=("patch_embed", "blocks"),
        layout="tokens",
    ),
)
PRESETS.register(
    "vit_torchvision",
    Preset(
        name="vit_torchvision",
        description="torchvision VisionTransformer (encoder.layers.encoder_layer_N; tokens, class "
        "token untouched): placements as the 'vit' preset",
        placements=_vit_placements("encoder.layers"),
        requires=("conv_proj", "encoder.layers"),
        layout="tokens",
    ),
)


def _staged_placements(stem: str, stages: Sequence[str], every_block: Placement) -> dict[str, Placement]:
    # No paper places these layers in Swin or ConvNeXt; this is the ResNet placement carried
    # over stage for stage (MixStyle's "never the last stage", DSU after the stem and the
    # stages, AdvBN after stage 1), except that DSU also stays off the last stage here.
    early = list(stages[:-1])
    return {
        "mixstyle": early,
        "efdmix": early,
        "dsu": [stem, *early],
        "padain": every_block,
        "adversarial_style": [stages[0]],
    }


_TIMM_SWIN_STAGES = ("layers.0", "layers.1", "layers.2", "layers.3")
PRESETS.register(
    "swin",
    Preset(
        name="swin",
        description="timm Swin v1 (layers.0-3; (B, H, W, C) maps): stages 1-3 by ResNet analogy (no paper)",
        placements=_staged_placements(
            "patch_embed", _TIMM_SWIN_STAGES, _swin_blocks_but_last([f"{s}.blocks" for s in _TIMM_SWIN_STAGES])
        ),
        requires=("patch_embed", "layers.0.blocks", "layers.3"),
        layout="nhwc",
    ),
)
_TV_STAGES = ("features.1", "features.3", "features.5", "features.7")  # even indices: downsampling
PRESETS.register(
    "swin_torchvision",
    Preset(
        name="swin_torchvision",
        description="torchvision Swin (features.1/3/5/7; (B, H, W, C) maps): as the 'swin' preset",
        placements=_staged_placements("features.0", _TV_STAGES, _swin_blocks_but_last(_TV_STAGES)),
        requires=("features.1.0.attn", "features.7"),
        layout="nhwc",
    ),
)
PRESETS.register(
    "convnext",
    Preset(
        name="convnext",
        description="timm ConvNeXt (stem, stages.0-3; (B, C, H, W) stage outputs): stages 1-3 and "
        "every conv by ResNet analogy (no paper)",
        placements=_staged_placements("stem", ("stages.0", "stages.1", "stages.2", "stages.3"), all_convs),
        requires=("stem", "stages.3"),
    ),
)
PRESETS.register(
    "convnext_torchvision",
    Preset(
        name="convnext_torchvision",
        description="torchvision ConvNeXt (features.0-7; (B, C, H, W)): as the 'convnext' preset",
        placements=_staged_placements("features.0", _TV_STAGES, all_convs),
        requires=("features.1.0.block", "features.7"),
    ),
)

# the order preset="auto" tries; a preset whose requirements are a subset of another's comes after it
AUTO_ORDER = ("resnet", "resnet3", "vit", "vit_torchvision", "swin", "swin_torchvision", "convnext", "convnext_torchvision")


def list_presets(pattern: str = "*") -> list[str]:
    """Names of the attachment presets, e.g. ``["convnext", "convs", "resnet", ...]``."""
    return PRESETS.list(pattern)


def fitting_preset(model: nn.Module, layer: str | None = None) -> str | None:
    """The first preset of :data:`AUTO_ORDER` whose module names ``model`` has (and that places
    ``layer``, when given), or None."""
    for name in AUTO_ORDER:
        preset = PRESETS.get(name)
        if preset.fits(model) and (layer is None or layer in preset.placements):
            return name
    return None

