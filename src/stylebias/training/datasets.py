"""Turn ``TrainConfig.data`` into a :class:`DataBundle`.

Sources:

* ``"shapes"`` or ``"shapes:key=value,..."``: the built-in ShapeTexture benchmark. Keys:
  ``n_per_class`` (100, per class and training domain), ``texture_correlation`` (0.9),
  ``val_per_class`` (20), ``test_per_class`` (30), ``cue_per_class`` (20), ``seed`` (0, the
  data seed, kept apart from the run seed so every method and seed sees the same images).
  Default held-out domain: sketch.
* ``"folder:PATH"``: ``PATH/<class>/<image>``; 20% held out for validation.
* ``"domains:PATH"``: ``PATH/<domain>/<class>/<image>`` (PACS, Office-Home, VLCS,
  DomainNet); 20% of each training domain held out for validation (DomainBed), one test set
  per held-out domain.
* ``"cifar10:PATH"`` / ``"cifar100:PATH"``: torchvision's CIFAR files under PATH.
"""

from __future__ import annotations

import dataclasses

import functools
from typing import Any

import torch
from torch.utils.data import ConcatDataset, Dataset, Subset, TensorDataset

from ..errors import InvalidArgumentError
from .config import TrainConfig
from .data import DataBundle, seed_for

__all__ = ["build_data", "parse_source", "data_domains", "SHAPES_DEFAULTS"]

SHAPES_DEFAULTS: dict[str, Any] = {
    "n_per_class": 100,
    "texture_correlation": 0.9,
    "val_per_class": 20,
    "test_per_class": 30,
    "cue_per_class": 20,
    "seed": 0,
}
KINDS = ("shapes", "folder", "domains", "cifar10", "cifar100")


def parse_source(data: str) -> tuple[str, str]:
    """``"kind:rest"`` -> (kind, rest); the path part may itself contain colons."""
    kind, _, rest = data.partition(":")
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise InvalidArgumentError(f"unknown data source {data!r}; use one of {', '.join(k + ':...' for k in KINDS)} or 'shapes'")
    if kind != "shapes" and not rest:
        raise InvalidArgumentError(f"data source {kind!r} needs a path: '{kind}:/path/to/data'")
    return kind, rest


def _shape_options(text: str) -> dict[str, Any]:
    options = dict(SHAPES_DEFAULTS)
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or key not in SHAPES_DEFAULTS:
            raise InvalidArgumentError(f"bad shapes option {item!r}; use key=value with keys {', '.join(SHAPES_DEFAULTS)}")
        options[key] = type(SHAPES_DEFAULTS[key])(value)
    return options


def _shapes(cfg: TrainConfig, text: str) -> DataBundle:
    from ..datasets import ShapeTexture

    test_domains = tuple(cfg.test_domains or ("sketch",))
    train_domains = tuple(cfg.train_domains or [d for d in ShapeTexture.DOMAINS if d not in test_domains])
    return _shapes_bundle(text, train_domains, test_domains, cfg.image_size)


@functools.lru_cache(maxsize=4)
def _shapes_bundle(text: str, train_domains: tuple[str, ...], test_domains: tuple[str, ...], image_size: int) -> DataBundle:
    """Rendered once per process and shared by every run with the same data (read-only)."""
    from ..datasets import ShapeTexture

    opt = _shape_options(text)
    common = {"image_size": image_size, "seed": opt["seed"], "texture_correlation": opt["texture_correlation"]}
    train = ShapeTexture("train", train_domains, n_per_class=opt["n_per_class"], **common)
    val = ShapeTexture("val", train_domains, n_per_class=opt["val_per_class"], **common)
    tests: dict[str, Dataset] = {
        d: ShapeTexture("test", (d,), n_per_class=opt["test_per_class"], **common) for d in test_domains
    }
    cue = ShapeTexture("cue_conflict", train_domains, n_per_class=opt["cue_per_class"], **common)
    images, shapes, _, textures = cue.tensors()
    clean = ShapeTexture("test", train_domains, n_per_class=max(1, opt["test_per_class"] // 6), **common)
    return DataBundle(
        train=train, num_classes=ShapeTexture.NUM_CLASSES, val=val, tests=tests,
        cue_conflict=TensorDataset(images, shapes, textures), corruption_source=clean,
        class_names=list(ShapeTexture.CLASSES),
        description=f"ShapeTexture: train on {', '.join(train_domains)}, test on {', '.join(test_domains)}, "
        f"texture correlation {opt['texture_correlation']}",
    )


def _transforms(size: int) -> tuple[Any, Any]:
    from torchvision.transforms import v2

    to_tensor = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    train = v2.Compose([v2.RandomResizedCrop(size, scale=(0.5, 1.0), antialias=True), v2.RandomHorizontalFlip(), *to_tensor])
    evaluation = v2.Compose([v2.Resize(round(size * 8 / 7), antialias=True), v2.CenterCrop(size), *to_tensor])
    return train, evaluation


def _holdout_by_domain(domain_labels: torch.Tensor, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    from ..datasets import split_holdout

    keep_all, hold_all = [], []
    for d in domain_labels.unique().tolist():
        idx = (domain_labels == d).nonzero().flatten()
        keep, hold = split_holdout(idx.numel(), fraction, seed_for(seed, "holdout", d))
        keep_all += idx[keep].tolist()
        hold_all += idx[hold].tolist()
    return sorted(keep_all), sorted(hold_all)


def build_data(cfg: TrainConfig) -> DataBundle:
    """The datasets ``cfg.data`` names (see the module docstring), with ``cfg.stylized_data``
    mixed into the training set when given."""
    bundle = _build(cfg)
    if cfg.stylized_data:
        from ..datasets import ImageFolderDataset
        from ..errors import DataError

        stylized = ImageFolderDataset(cfg.stylized_data, _transforms(cfg.image_size)[0])
        if bundle.class_names is not None:
            if set(stylized.classes) != set(bundle.class_names):
                missing = sorted(set(bundle.class_names) - set(stylized.classes))
                extra = sorted(set(stylized.classes) - set(bundle.class_names))
                raise DataError(
                    f"stylized_data {cfg.stylized_data} must have one <class> folder per class of the training data; "
                    f"missing: {', '.join(missing) or 'none'}; not a training class: {', '.join(extra) or 'none'}"
                )
            # label each stylized image with its class's index in the training data, whose class
            # order need not be the folders' sorted order (the built-in benchmark's is not)
            index = {name: i for i, name in enumerate(bundle.class_names)}
            stylized.samples = [(path, index[stylized.classes[label]], domain) for path, label, domain in stylized.samples]
            stylized.classes = list(bundle.class_names)
            stylized.class_to_idx = dict(index)
        # a copy: the built-in benchmark's bundle is cached and shared by every run of the process
        bundle = dataclasses.replace(bundle, finetune=bundle.train, train=ConcatDataset([bundle.train, stylized]),
                                     description=bundle.description + f", mixed with stylized images from {cfg.stylized_data}")
    return bundle


def _build(cfg: TrainConfig) -> DataBundle:
    kind, rest = parse_source(cfg.data)
    if kind == "shapes":
        return _shapes(cfg, rest)
    from ..datasets import ImageFolderDataset, MultiDomainFolder, cifar

    train_tf, eval_tf = _transforms(cfg.image_size)
    if kind == "folder":
        train_set, eval_set = ImageFolderDataset(rest, train_tf), ImageFolderDataset(rest, eval_tf)
        keep, hold = _holdout_by_domain(torch.zeros(len(train_set), dtype=torch.long), 0.2, cfg.seed)
        return DataBundle(train=Subset(train_set, keep), val=Subset(eval_set, hold), num_classes=train_set.num_classes,
                          class_names=list(train_set.classes), description=f"image folder {rest}")
    if kind == "domains":
        probe = MultiDomainFolder(rest)
        tests_domains = list(cfg.test_domains or [])
        train_domains = list(cfg.train_domains or [d for d in probe.DOMAINS if d not in tests_domains])
        train_set = MultiDomainFolder(rest, train_domains, train_tf)
        eval_set = MultiDomainFolder(rest, train_domains, eval_tf)
        keep, hold = _holdout_by_domain(train_set.domain_labels, 0.2, cfg.seed)
        tests: dict[str, Dataset] = {d: MultiDomainFolder(rest, [d], eval_tf) for d in tests_domains}
        return DataBundle(train=Subset(train_set, keep), val=Subset(eval_set, hold), tests=tests,
                          num_classes=len(train_set.classes), class_names=list(train_set.classes),
                          description=f"{rest}: train on {', '.join(train_domains)}, test on {', '.join(tests_domains) or 'none'}")
    from torchvision.transforms import v2

    cifar_train = v2.Compose([v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip(), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    train_set = cifar(kind, rest, train=True, transform=cifar_train)
    test_set = cifar(kind, rest, train=False)
    hold = torch.randperm(len(test_set), generator=torch.Generator().manual_seed(cfg.seed))[:2000].tolist()
    return DataBundle(train=train_set, num_classes=10 if kind == "cifar10" else 100, tests={"test": test_set},
                      corruption_source=Subset(test_set, hold), description=f"{kind} from {rest}")


def data_domains(cfg: TrainConfig) -> tuple[str, ...]:
    """The domains of a multi-domain source (``shapes`` or ``domains:PATH``)."""
    kind, rest = parse_source(cfg.data)
    if kind == "shapes":
        from ..datasets import ShapeTexture

        return tuple(ShapeTexture.DOMAINS)
    if kind == "domains":
        from ..datasets import MultiDomainFolder

        return tuple(MultiDomainFolder(rest).DOMAINS)
    raise InvalidArgumentError(f"{cfg.data!r} has no domains; leave-one-domain-out needs 'shapes' or 'domains:PATH'")
