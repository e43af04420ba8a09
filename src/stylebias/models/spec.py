"""``load_model(spec)``: one string names any classifier, with its preprocessing.

Spec forms (the part after the LAST colon is the name, so Windows drive letters work):

* ``open_clip:ARCH/PRETRAINED`` (or ``open_clip:ARCH``, random weights only) -- an open_clip
  image encoder (:mod:`stylebias.models.clip`; open_clip is optional): ``load_model`` gives
  the encoder (image embeddings out), ``build_classifier`` the encoder with a linear head.
* ``torchvision:NAME`` or ``torchvision:NAME.WEIGHTS`` -- ``torchvision.models.get_model``;
  pretrained weights are ``DEFAULT`` unless a weights enum member such as ``IMAGENET1K_V1`` is
  given; resize/crop/mean/std come from the weights' transforms.
* ``timm:NAME`` -- ``timm.create_model`` (timm is optional); preprocessing from its data config.
* ``path/to/file.py:callable`` -- the file is imported when ``load_model`` runs (never at import
  of stylebias) and ``callable()`` must return an ``nn.Module``.
* ``package.module:callable`` -- the same with an importable module.
* ``NAME`` -- a model registered in :data:`MODELS`.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._registry import Registry
from ..errors import InvalidArgumentError, MissingFileError, UnknownNameError
from ..runtime import resolve_device
from .preprocess import Normalized, Preprocess

__all__ = [
    "ModelSpec",
    "LoadedModel",
    "ModelEntry",
    "MODELS",
    "PREFIXES",
    "parse_spec",
    "load_model",
    "register_model",
]

PREFIXES = ("torchvision", "timm", "open_clip")
_FORMS = (
    "torchvision:NAME (e.g. torchvision:resnet50), timm:NAME, open_clip:ARCH/PRETRAINED, path/to/file.py:callable, "
    "package.module:callable, or a registered name (`stylebias list models`)"
)


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec.

    Attributes:
        kind: ``"torchvision"``, ``"timm"``, ``"open_clip"``, ``"file"``, ``"module"`` or
            ``"registered"``.
        target: model name (open_clip: the architecture), file path or module path.
        attr: the callable's name for ``"file"``/``"module"``, the weights name for
            ``torchvision`` (``None``: ``DEFAULT``), the pretrained tag for ``open_clip``
            (``None``: none named), else ``None``.
        text: the spec as written.
    """

    kind: str
    target: str
    attr: str | None
    text: str


@dataclass
class LoadedModel:
    """A classifier ready for evaluation.

    Attributes:
        model: in eval mode; takes RGB ``(B, 3, H, W)`` in [0, 1] and normalises inside.
        preprocess: resize/crop that turn a PIL image into its input
            (``preprocess.transform(pil)``).
        spec: what was loaded.
    """

    model: nn.Module
    preprocess: Preprocess
    spec: ModelSpec

    @property
    def name(self) -> str:
        """The spec text, e.g. ``"torchvision:resnet50"``."""
        return self.spec.text

    def with_preprocess(self, preprocess: Preprocess | Mapping[str, Any] | None) -> LoadedModel:
        """A copy using ``preprocess`` (a :class:`Preprocess` or a dict of fields to change).

        A changed mean/std re-wraps the inner network in a new :class:`Normalized`, so the
        normalisation inside the model always matches ``preprocess``; the weights are shared.

        Raises:
            InvalidArgumentError: mean/std change but ``model`` is not a :class:`Normalized`.
        """
        pre = Preprocess.coerce(preprocess, self.preprocess)
        model = self.model
        if (pre.mean, pre.std) != (self.preprocess.mean, self.preprocess.std):
            if not isinstance(model, Normalized):
                raise InvalidArgumentError(
                    f"cannot change mean/std of {self.name!r}: its model does not normalise "
                    f"through stylebias.models.Normalized"
                )
            model = Normalized(model.model, pre.mean, pre.std).to(model.mean.device).train(model.training)
        return LoadedModel(model, pre, self.spec)


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: ``factory(pretrained)`` returns an ``nn.Module`` (expecting
    normalised input per ``preprocess``) or a :class:`LoadedModel`."""

    factory: Callable[[bool], nn.Module | LoadedModel]
    preprocess: Preprocess = Preprocess()
    description: str = ""


MODELS: Registry[ModelEntry] = Registry("model")


def register_model(
    name: str,
    factory: Callable[[bool], nn.Module | LoadedModel],
    *,
    preprocess: Preprocess | None = None,
    description: str = "",
    aliases: tuple[str, ...] = (),
) -> ModelEntry:
    """Make ``load_model(name)`` call ``factory(pretrained)``."""
    entry = ModelEntry(factory, preprocess or Preprocess(), description)
    return MODELS.register(name, entry, aliases=aliases)


def parse_spec(spec: str) -> ModelSpec:
    """Split a spec string into a :class:`ModelSpec` (no import, no I/O).

    Raises:
        InvalidArgumentError: empty spec, unknown prefix, or a file spec without a callable.
        UnknownNameError: a bare name that is not registered.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidArgumentError(f"a model spec must be a non-empty string; use {_FORMS}")
    text = spec.strip()
    if ":" not in text:
        if text.endswith(".py"):
            raise InvalidArgumentError(
                f"model spec {text!r} names a file but no callable: write {text}:CALLABLE, "
                f"where CALLABLE() returns the nn.Module"
            )
        return ModelSpec("registered", MODELS.canonical(text), None, text)
    left, name = text.rsplit(":", 1)
    if not name:
        raise InvalidArgumentError(f"model spec {text!r} has nothing after ':'; use {_FORMS}")
    if left in PREFIXES:
        if left == "torchvision" and "." in name:
            arch, weights = name.split(".", 1)
            return ModelSpec(left, arch, weights, text)
        if left == "open_clip":
            from .clip import parse_open_clip_name

            return ModelSpec(left, *parse_open_clip_name(name), text)
        return ModelSpec(left, name, None, text)
    if left.endswith(".py") or os.sep in left or "/" in left:
        if not name.isidentifier():
            raise InvalidArgumentError(
                f"model spec {text!r}: {name!r} is not a Python name; write path/to/file.py:CALLABLE"
            )
        return ModelSpec("file", left, name, text)
    if all(part.isidentifier() for part in left.split(".")) and name.isidentifier():
        close = difflib.get_close_matches(left.lower(), PREFIXES, n=1, cutoff=0.7)
        if close and "." not in left:  # "torchvison:resnet50" is a typo, not a module
            raise InvalidArgumentError(
                f"unknown model source prefix {left!r} in {text!r} (did you mean {close[0]!r}?); "
                f"valid prefixes: {', '.join(PREFIXES)}; other forms: {_FORMS}"
            )
        return ModelSpec("module", left, name, text)
    if "/" in name or "\\" in name or name.endswith(".py"):  # e.g. "C:\\net.py" without callable
        raise InvalidArgumentError(
            f"model spec {text!r} names a file but no callable: write PATH.py:CALLABLE"
        )
    raise InvalidArgumentError(
        f"unknown model source prefix {left!r} in {text!r}; valid prefixes: "
        f"{', '.join(PREFIXES)}; other forms: {_FORMS}"
    )


# --------------------------------------------------------------------------- sources
_TORCHVISION_BUILD_LOCK = threading.Lock()


@contextmanager
def _state_dict_loaded_safely(weights: Any) -> Iterator[None]:
    """While a torchvision builder runs, make ``weights.get_state_dict`` load the file through
    stylebias's verified, ``weights_only=True`` path instead of ``torch.hub`` (which unpickles
    cached files with ``weights_only=False``).

    The builder still builds the model: some adapt the architecture to the weights or fix up
    keys (inception, googlenet, densenet, quantized models), which rebuilding by hand would
    miss. The override is an attribute of the shared enum member, removed on exit; a lock
    keeps two threads from overlapping, so neither removes the other's override early.
    """
    from ..hub import load_torchvision_state_dict

    def get_state_dict(*args: Any, progress: bool = True, **kwargs: Any) -> dict[str, torch.Tensor]:
        return load_torchvision_state_dict(weights, progress=progress)

    with _TORCHVISION_BUILD_LOCK:
        weights.get_state_dict = get_state_dict
        try:
            yield
        finally:
            del weights.get_state_dict


def _load_torchvision(spec: ModelSpec, pretrained: bool, num_classes: int | None = None) -> tuple[nn.Module, Preprocess]:
    """The network and its preprocessing; ``num_classes`` (without weights only) sizes the head."""
    import torchvision.models as tvm

    name = spec.target
    available = tvm.list_models()
    if name not in available:
        close = difflib.get_close_matches(name, available, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UnknownNameError(
            f"torchvision has no model {name!r}.{hint} See torchvision.models.list_models()."
        )
    weights = None
    try:
        enum = tvm.get_model_weights(name)
        weights = enum[spec.attr] if spec.attr else enum.DEFAULT
    except KeyError:
        members = ", ".join(w.name for w in tvm.get_model_weights(name))
        raise UnknownNameError(
            f"torchvision model {name!r} has no weights {spec.attr!r}; available: {members}"
        ) from None
    except (ValueError, AttributeError):  # no weights enum (e.g. some video/optical-flow models)
        weights = None
    preprocess = _preprocess_from_torchvision(weights)
    if pretrained and weights is None:
        raise MissingFileError(f"torchvision has no pretrained weights for {name!r}; use pretrained=False")
    if not pretrained:
        extra = {} if num_classes is None else {"num_classes": num_classes}
        return tvm.get_model(name, weights=None, **extra), preprocess
    with _state_dict_loaded_safely(weights):  # missing/corrupt files raise typed errors
        model = tvm.get_model(name, weights=weights)
    return model, preprocess


def _preprocess_from_torchvision(weights: Any) -> Preprocess:
    if weights is None:
        return Preprocess()
    try:
        t = weights.transforms()
        resize, crop = t.resize_size, t.crop_size
        return Preprocess(
            resize=int(resize[0]) if resize else None,
            crop=int(crop[0]) if crop else None,
            mean=tuple(t.mean),
            std=tuple(t.std),
            interpolation=str(getattr(t.interpolation, "value", t.interpolation)),
        )
    except (AttributeError, TypeError, IndexError, InvalidArgumentError):
        return Preprocess()  # not an image-classification transform: ImageNet defaults


# From 1.0.26 timm reads pretrained weights from safetensors files or with torch.load(...,
# weights_only=True) on every path, and .npz (JAX) weights with numpy without pickle. Older
# versions unpickle some files with weights_only=False (0.9: every URL-hosted file, through
# torch.hub; up to 1.0.25: Hugging Face files named by (repo, file) without a safetensors copy).
_TIMM_SAFE_SINCE = (1, 0, 26)


def _check_timm_loads_safely(version: str) -> None:
    numbers = tuple(int(n) for n in re.findall(r"\d+", version.split("+")[0])[:3])
    if numbers < _TIMM_SAFE_SINCE:
        raise InvalidArgumentError(
            f"timm {version} may load pretrained weights with torch.load(weights_only=False), "
            f"which runs any code a planted or tampered file holds; stylebias needs timm >= "
            f"{'.'.join(map(str, _TIMM_SAFE_SINCE))} for pretrained timm models: "
            f"pip install -U 'timm>=1.0.26' (or use pretrained=False)"
        )


def _timm_size_args(name: str, image_size: int | None) -> dict[str, Any]:
    """``img_size`` for a timm model with a fixed input size (ViT, DeiT, Swin) when the images
    have another side; CNNs (``fixed_input_size`` False) take any size and no such argument."""
    import timm

    if image_size is None:
        return {}
    try:
        cfg = timm.models.get_pretrained_cfg(name)
    except (RuntimeError, AttributeError):
        return {}
    if cfg is None or not getattr(cfg, "fixed_input_size", False) or tuple(cfg.input_size)[-1] == image_size:
        return {}
    return {"img_size": image_size}


def _load_timm(
    spec: ModelSpec, pretrained: bool, num_classes: int | None = None, image_size: int | None = None
) -> tuple[nn.Module, Preprocess]:
    """The network and its preprocessing; ``num_classes`` sizes the head (timm's own rule);
    ``image_size`` builds a fixed-input-size model (ViT, Swin) for square images of that side."""
    try:
        import timm
    except ImportError:
        raise InvalidArgumentError(
            f"model spec {spec.text!r} needs timm, which is not installed: "
            f"pip install timm  (or pip install 'stylebias[timm]')"
        ) from None
    if pretrained:
        _check_timm_loads_safely(getattr(timm, "__version__", "0"))
    try:
        extra = {} if num_classes is None else {"num_classes": num_classes}
        extra.update(_timm_size_args(spec.target, image_size))
        model = timm.create_model(spec.target, pretrained=pretrained, **extra)
    except RuntimeError as err:
        if "unknown model" in str(err).lower():
            raise UnknownNameError(f"timm has no model {spec.target!r} (see timm.list_models())") from None
        raise
    except OSError as err:
        raise MissingFileError(
            f"could not get the pretrained weights of timm:{spec.target} ({err}); timm fetches "
            f"them from the Hugging Face Hub: set $HF_HOME to a cache that holds them, or "
            f"use pretrained=False"
        ) from err
    cfg: Mapping[str, Any]
    try:
        cfg = timm.data.resolve_data_config({}, model=model)
    except AttributeError:
        cfg = dict(getattr(model, "pretrained_cfg", {}) or {})
    size = int(cfg.get("input_size", (3, 224, 224))[-1])
    crop_pct = float(cfg.get("crop_pct", 0.875) or 1.0)
    interpolation = str(cfg.get("interpolation", "bicubic"))
    return model, Preprocess(
        resize=int(size / crop_pct),  # timm: scale_size = floor(img_size / crop_pct)
        crop=size,
        mean=tuple(cfg.get("mean", Preprocess.mean)),
        std=tuple(cfg.get("std", Preprocess.std)),
        interpolation=interpolation if interpolation in ("bilinear", "bicubic", "nearest", "lanczos") else "bicubic",
    )


def _import_file(path: str) -> Any:
    file = Path(path).expanduser()
    if not file.is_file():
        raise MissingFileError(f"model file {file} does not exist (from spec '{path}:...')")
    digest = hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:12]
    module_name = f"_stylebias_user_model_{file.stem}_{digest}"
    loader_spec = importlib.util.spec_from_file_location(module_name, file)
    if loader_spec is None or loader_spec.loader is None:
        raise InvalidArgumentError(f"cannot import {file} as a Python file")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module  # dataclasses/pickle inside the file need it registered
    try:
        loader_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _load_callable(spec: ModelSpec, pretrained: bool) -> nn.Module | LoadedModel:
    return _find_callable(spec)()


def _find_callable(spec: ModelSpec) -> Callable[..., Any]:
    """Import the file or module of a ``file``/``module`` spec; its callable."""
    if spec.kind == "file":
        module = _import_file(spec.target)
        where = f"file {spec.target}"
    else:
        try:
            module = importlib.import_module(spec.target)
        except ModuleNotFoundError as err:
            raise InvalidArgumentError(
                f"model spec {spec.text!r}: {spec.target!r} is neither a model source prefix "
                f"(valid: {', '.join(PREFIXES)}) nor an importable module ({err}); "
                f"the forms are {_FORMS}"
            ) from None
        where = f"module {spec.target}"
    factory = getattr(module, spec.attr or "", None)
    if not callable(factory):
        names = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        raise InvalidArgumentError(
            f"{where} has no callable {spec.attr!r}; callables there: {', '.join(names) or 'none'}"
        )
    return factory


# --------------------------------------------------------------------------- entry point
def load_model(
    spec: str | ModelSpec,
    *,
    pretrained: bool = True,
    device: str | torch.device | None = None,
    preprocess: Preprocess | Mapping[str, Any] | None = None,
) -> LoadedModel:
    """Load a classifier by spec, wrapped to take RGB images in [0, 1].

    Args:
        spec: see the module docstring (``"torchvision:resnet50"``, ``"timm:convnext_tiny"``,
            ``"models/mine.py:build"``, ``"mypkg.nets:build"``, or a registered name).
        pretrained: load pretrained weights (torchvision, timm and registered models).
        device: where to put the model (default: CPU, i.e. where it was built); ``"auto"``:
            CUDA if available. A device this machine lacks is refused before anything loads.
        preprocess: a :class:`Preprocess`, or a dict of fields replacing the source's
            defaults (``{"resize": 224, "crop": 224}``); default: the source's own
            (ImageNet's 256/224 + mean/std for user models).

    Returns:
        :class:`LoadedModel` with ``model`` in eval mode, normalising inside.

    Raises:
        InvalidArgumentError: malformed spec, unknown prefix (the message lists the valid
            ones), missing callable, timm not installed, callable not returning a module.
        UnknownNameError: unknown torchvision/timm/registered model name.
        MissingFileError: a model file does not exist, or pretrained weights cannot be
            downloaded (the message says where torch's hub cache is).
        IntegrityError: cached torchvision weights do not match the hash in their file name.
        DataError: a torchvision weights file holds more than tensors (e.g. pickled code);
            torchvision weights are always loaded with ``weights_only=True``.

    Example:
        >>> lm = load_model("torchvision:resnet18", pretrained=False)
        >>> lm.preprocess.crop
        224
    """
    parsed = spec if isinstance(spec, ModelSpec) else parse_spec(spec)
    device = resolve_device(device) if device is not None else None  # refused before any download
    base = Preprocess()
    if parsed.kind == "torchvision":
        model, base = _load_torchvision(parsed, pretrained)
    elif parsed.kind == "timm":
        model, base = _load_timm(parsed, pretrained)
    elif parsed.kind == "open_clip":  # a zero-shot classifier of the 16 benchmark categories
        from .clip import open_clip_zero_shot

        model, base = open_clip_zero_shot(parsed.target, parsed.attr, pretrained)
    else:
        if parsed.kind == "registered":
            entry = MODELS.get(parsed.target)
            built = entry.factory(pretrained)
            base = entry.preprocess
        else:
            built = _load_callable(parsed, pretrained)
        if isinstance(built, LoadedModel):
            loaded = LoadedModel(built.model, built.preprocess, parsed).with_preprocess(preprocess)
            return _finish(loaded, device)
        model = built
    if not isinstance(model, nn.Module):
        raise InvalidArgumentError(
            f"model spec {parsed.text!r} produced a {type(model).__name__}, not a torch.nn.Module"
        )
    pre = Preprocess.coerce(preprocess, base)
    # Normalisation uses the source's statistics; overriding mean/std in `preprocess` wins.
    wrapped = Normalized(model, pre.mean, pre.std)
    return _finish(LoadedModel(wrapped, pre, parsed), device)


def _finish(loaded: LoadedModel, device: str | torch.device | None) -> LoadedModel:
    if device is not None:
        loaded.model.to(device)
    loaded.model.eval()
    return loaded
