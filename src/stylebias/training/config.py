"""The training configuration: one dataclass, loadable from TOML, every key also a flag."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import types
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

from ..errors import InvalidArgumentError, MissingFileError
from ..runtime import check_device

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["TrainConfig", "load_config", "add_config_arguments", "config_from_args", "validate_config", "check_device"]


@dataclass
class TrainConfig:
    """Everything one training run needs. Defaults train the built-in benchmark on the CPU.

    Attributes:
        data: ``"shapes"`` (built-in benchmark), ``"folder:PATH"`` (``root/<class>/<img>``),
            ``"domains:PATH"`` (``root/<domain>/<class>/<img>``: PACS, Office-Home, VLCS,
            DomainNet), ``"cifar10:PATH"`` or ``"cifar100:PATH"``.
        train_domains: domains to train on (multi-domain data); None = all but test_domains.
        test_domains: held-out domains (multi-domain data).
        model: any :mod:`stylebias.models` spec: a registered name (``"small_resnet"``,
            ``"cifar_resnet18"``/34/50), ``"torchvision:NAME[.WEIGHTS]"``, ``"timm:NAME"``,
            ``"path/to/file.py:callable"`` or ``"package.module:callable"``; its head is
            resized to the data's classes (``stylebias.models.build_classifier``).
        pretrained: load the model's pretrained weights (torchvision/timm specs); their
            ImageNet normalisation then runs inside the network, which takes [0, 1] images.
        method: ``"erm"``, a style layer name (``"mixstyle"``, ``"padain"``, ``"efdmix"``,
            ``"dsu"``, ``"adversarial_style"``) or an image-level method (``"randconv"``,
            ``"augmix"``, ``"prime"``, ``"debiased"``, ``"style_augment"``, ``"robust_distill"``);
            see ``stylebias list methods``.
        layer: a style layer attached in addition to an image-level method (``method="randconv",
            layer="mixstyle"``); its hyperparameters are spelt ``"<layer>.<name>"`` in hparams
            (``{"mixstyle.alpha": 0.3}``) so they never clash with the method's own. None when
            the method is ERM or itself a style layer (``method="mixstyle"``).
        layer_after: module names to attach the style layer after (default: the preset).
        layer_preset: attachment preset; ``"auto"`` picks one from the model's module names.
        hparams: method/optimiser hyperparameter overrides (see training/hparams.py).
        steps: optimisation steps.
        batch_size: images per step (per process under DDP).
        image_size: side of the square training images.
        amp: mixed precision (bf16 on CPU, fp16 with a grad scaler on CUDA).
        seed: seeds the model init, data order, augmentation and every style layer.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...
        workers: DataLoader worker processes.
        output_dir: where checkpoints, metrics and results go (nothing is written elsewhere);
            None = ``runs/train/<method>-<hash of the run's identity>`` (training/identity.py),
            so different configs never share a folder. A folder holding another run is refused.
        checkpoint_every: steps between checkpoints (and evaluations).
        resume: continue from ``output_dir/checkpoint.pt`` (or read back a finished run) when
            it exists and its stored config is this one; False starts over in the folder.
        log_format: ``"jsonl"`` or ``"csv"`` metrics log; ``tensorboard`` adds event files.
        corruption_severities: severities for the corrupted test split (built-in benchmark).
        progress: show a progress bar.
        stylized_data: a folder ``<class>/<image>`` of stylized training images (e.g. made by
            ``stylebias stylize``) mixed with the training set during ``steps``.
        finetune_steps: after ``steps``, train this many steps on the original data alone at a
            tenth of the learning rate (the Shape-ResNet recipe).
        style_augment: a folder of style images: stylize a fraction of every training batch on
            the fly with AdaIN (Stylized-ImageNet training without the data on disk), before
            any method's step and not while fine-tuning. It is the ``style_augment`` method's
            stylization (same draws from the same generator: with ``method = "erm"`` the
            batches equal ``method = "style_augment"`` with ``hparams.styles``), which also
            offers EFDM and the contrastive stylizer.
        style_augment_fraction: the share of each batch that is stylized.
        stylizer_vgg, stylizer_decoder: AdaIN weight files (default: the published ones,
            downloaded to the cache on first use).
    """

    data: str = "shapes"
    train_domains: list[str] | None = None
    test_domains: list[str] | None = None
    model: str = "small_resnet"
    pretrained: bool = False
    method: str = "erm"
    layer: str | None = None
    layer_after: list[str] | None = None
    layer_preset: str = "auto"
    hparams: dict[str, Any] = field(default_factory=dict)
    steps: int = 600
    batch_size: int = 64
    image_size: int = 32
    amp: bool = False
    seed: int = 0
    device: str = "auto"
    workers: int = 0
    output_dir: Path | None = None
    checkpoint_every: int = 200
    resume: bool = True
    log_format: str = "jsonl"
    tensorboard: bool = False
    corruption_severities: list[int] = field(default_factory=lambda: [3])
    progress: bool = True
    stylized_data: str | None = None
    finetune_steps: int = 0
    style_augment: str | None = None
    style_augment_fraction: float = 0.5
    stylizer_vgg: str | None = None
    stylizer_decoder: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (paths as strings)."""
        out = dataclasses.asdict(self)
        out["output_dir"] = None if self.output_dir is None else str(self.output_dir)
        return out


def _field_types() -> dict[str, Any]:
    return get_type_hints(TrainConfig)


def _coerce(name: str, value: Any) -> Any:
    hint = _field_types()[name]
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType) and type(None) in args:
        if value is None:
            return None
        hint = next(a for a in args if a is not type(None))
        origin, args = get_origin(hint), get_args(hint)
    if hint is Path:
        return Path(value)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            value = [value]
        return [args[0](v) for v in value]
    if origin is dict:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as err:
                raise InvalidArgumentError(
                    f"config key {name!r} (--{name.replace('_', '-')}) is not valid JSON ({err}): {value!r}; "
                    'write a JSON object such as \'{"lr": 0.1}\''
                ) from None
        if not isinstance(value, dict):
            raise InvalidArgumentError(f"config key {name!r} must be a table/dict, got {value!r}")
        return value
    if hint is bool:
        if isinstance(value, str):
            return value.lower() in ("1", "true", "yes", "on")
        return bool(value)
    try:
        return hint(value)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"config key {name!r} must be {hint.__name__}, got {value!r}") from None


def load_config(path: str | Path | None = None, **overrides: Any) -> TrainConfig:
    """Build a :class:`TrainConfig` from a TOML file and/or keyword overrides.

    Unknown keys raise with the list of valid ones, so typos never pass silently.
    """
    values: dict[str, Any] = {}
    if path is not None:
        if not Path(path).is_file():
            what = "is a folder, not a file" if Path(path).is_dir() else "does not exist"
            raise MissingFileError(f"config file {path} (--config) {what}; give the path of a TOML file")
        with open(path, "rb") as fh:
            try:
                values.update(tomllib.load(fh))
            except tomllib.TOMLDecodeError as err:
                raise InvalidArgumentError(f"{path}: not valid TOML: {err}") from None
    values.update({k: v for k, v in overrides.items() if v is not None})
    valid = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(values) - valid)
    if unknown:
        raise InvalidArgumentError(
            f"unknown config key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(valid))}"
        )
    return TrainConfig(**{k: _coerce(k, v) for k, v in values.items()})


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--config FILE`` and one ``--key`` flag per TrainConfig field (default: unset)."""
    parser.add_argument("--config", type=Path, help="TOML file with any of the keys below")
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        hint = _field_types()[f.name]
        origin = get_origin(hint)
        if hint is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None)
        elif origin is list or list in get_args(hint) or any(get_origin(a) is list for a in get_args(hint)):
            parser.add_argument(flag, nargs="+", default=None)
        elif origin is dict:
            parser.add_argument(flag, default=None, metavar="JSON", help="JSON object")
        else:
            parser.add_argument(flag, default=None)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The config of a parsed command line: the file's values, then the flags given."""
    overrides = {f.name: getattr(args, f.name, None) for f in fields(TrainConfig)}
    return load_config(getattr(args, "config", None), **overrides)


# (key, lowest allowed value) of the integer keys
_MINIMUMS = (("steps", 1), ("batch_size", 1), ("checkpoint_every", 1), ("image_size", 1),
             ("finetune_steps", 0), ("workers", 0))


def check_model_spec(spec: str) -> None:
    """Raise unless ``spec`` is a well-formed model spec (:func:`stylebias.models.parse_spec`:
    no import, no download); a bare name must be registered (``stylebias list models``)."""
    from ..models import parse_spec

    parse_spec(spec)


def check_composed_layer(method: str, layer: str) -> None:
    """Raise unless style layer ``layer`` can be attached on top of ``method`` (``--layer``)."""
    from ..layers import STYLE_LAYERS

    canonical = STYLE_LAYERS.canonical(layer)  # an unknown layer raises with suggestions
    if method in STYLE_LAYERS:
        raise InvalidArgumentError(
            f"method {method!r} is itself a style layer, so layer (--layer) {layer!r} has nothing to add to; "
            f"use --method {layer} alone, or an image-level method with --layer {layer}"
        )
    if canonical == "adversarial_style":
        raise InvalidArgumentError(
            "layer (--layer) 'adversarial_style' needs its own update step (the inner maximisation) and "
            "cannot be added to another method; train it with --method adversarial_style"
        )


def validate_config(cfg: TrainConfig) -> None:
    """Raise on any value a run cannot use, before anything is built or written.

    Checks ranges (steps >= 1, batch_size >= 1, checkpoint_every >= 1, finetune_steps >= 0,
    fractions in [0, 1]), choices (log_format, layer_preset, model spec) and the device. The
    method name and hyperparameter names are checked by ``identity.resolve_hparams``.
    """
    for key, lowest in _MINIMUMS:
        value = getattr(cfg, key)
        if not isinstance(value, int) or isinstance(value, bool) or value < lowest:
            raise InvalidArgumentError(f"{key} (--{key.replace('_', '-')}) must be an integer >= {lowest}, got {value!r}")
    if not 0.0 <= cfg.style_augment_fraction <= 1.0:
        raise InvalidArgumentError(f"style_augment_fraction must be in [0, 1] (a fraction, not percent), got {cfg.style_augment_fraction}")
    if cfg.log_format not in ("jsonl", "csv"):
        raise InvalidArgumentError(f"log_format (--log-format) must be 'jsonl' or 'csv', got {cfg.log_format!r}")
    if cfg.layer_preset != "auto":
        from ..attach import PRESETS

        PRESETS.canonical(cfg.layer_preset)  # an unknown preset raises with suggestions
    if cfg.layer is not None:
        check_composed_layer(cfg.method, cfg.layer)
    if not isinstance(cfg.hparams, dict):
        raise InvalidArgumentError(f"hparams must be a dict/JSON object, got {cfg.hparams!r}")
    check_model_spec(cfg.model)
    check_device(cfg.device)
