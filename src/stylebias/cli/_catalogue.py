"""What the commands accept, in one place: the ``--data`` forms, the model specs, the metrics.

``stylebias list`` prints these and ``train --help`` quotes them, so help, listings and error
messages cannot drift apart.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DATA_FORMS", "TRAIN_MODEL_SPECS", "MODEL_SPEC_FORMS", "data_rows", "model_rows", "metric_rows",
           "method_rows", "method_summary", "recipe_rows"]

# (form, meaning) of train's --data (training/datasets.py parses them)
_DATA: tuple[tuple[str, str], ...] = (
    ("shapes", "the built-in ShapeTexture benchmark (no download); shapes:key=value,... sets n_per_class, "
               "texture_correlation, val_per_class, test_per_class, cue_per_class, seed"),
    ("folder:PATH", "PATH/<class>/<image>; 20% held out for validation"),
    ("domains:PATH", "PATH/<domain>/<class>/<image> (PACS, Office-Home, VLCS, DomainNet); "
                     "--test-domains are held out"),
    ("cifar10:PATH", "torchvision's CIFAR-10 files under PATH"),
    ("cifar100:PATH", "torchvision's CIFAR-100 files under PATH"),
)
DATA_FORMS = tuple(f"{form:<15} {meaning}" for form, meaning in _DATA)

TRAIN_MODEL_SPECS = "small_resnet, cifar_resnet18 (or 34, 50), torchvision:NAME or timm:NAME"

# (form, meaning) of --model in the evaluation commands (models/spec.py parses them)
MODEL_SPEC_FORMS: tuple[tuple[str, str], ...] = (
    ("torchvision:NAME[.WEIGHTS]", "a torchvision classifier, e.g. torchvision:resnet50.IMAGENET1K_V1"),
    ("timm:NAME", "a timm model (pip install timm)"),
    ("open_clip:ARCH/PRETRAINED", "an open_clip image encoder (embeddings; train adds a linear head), "
                                  "e.g. open_clip:ViT-B-32/openai (pip install 'stylebias[clip]')"),
    ("path/file.py:callable", "a function in a Python file returning an nn.Module"),
    ("package.module:callable", "a function in an importable module"),
    ("small_resnet", "train only: the built-in small ResNet"),
    ("cifar_resnet18", "train only: CIFAR ResNet-18 (also 34, 50)"),
)


def data_rows() -> list[dict[str, Any]]:
    """The ``--data`` forms of ``train``, then the registered benchmarks."""
    from ..datasets import DATASETS

    rows = [{"name": form, "summary": meaning} for form, meaning in _DATA]
    rows += [{"name": n, "summary": f"registered benchmark: {(DATASETS.get(n).__doc__ or '').strip().splitlines()[0]}"}
             for n in DATASETS.list()]
    return rows


def model_rows(pattern: str = "*") -> list[dict[str, Any]]:
    """Registered model names, then the spec forms every model command accepts."""
    from ..models import MODELS

    rows = [{"name": n, "summary": MODELS.get(n).description} for n in MODELS.list(pattern)]
    return rows + [{"name": form, "summary": meaning} for form, meaning in MODEL_SPEC_FORMS]


def method_rows(pattern: str = "*") -> list[dict[str, Any]]:
    """Training methods, each with the first line of its docstring (a style layer's, for the
    methods that are ERM with a style layer attached)."""
    from ..training.methods import METHODS

    return [{"name": n, "summary": method_summary(METHODS.get(n))} for n in METHODS.list(pattern)]


def method_summary(entry: Any) -> str:
    """One line describing a registered method: a class, or a ``partial`` binding a layer."""
    import functools

    from ..layers import STYLE_LAYERS

    keywords = entry.keywords if isinstance(entry, functools.partial) else {}
    cls = entry.func if isinstance(entry, functools.partial) else entry
    if keywords.get("layer") is not None:
        layer = keywords["layer"]
        return f"ERM with the {layer} style layer: {_first_line(STYLE_LAYERS.get(layer).__doc__)}"
    return _first_line(cls.__doc__) or f"{getattr(cls, '__name__', cls)!s} (no description)"


def _first_line(doc: str | None) -> str:
    lines = (doc or "").strip().splitlines()
    return lines[0].strip() if lines else ""


def metric_rows() -> list[dict[str, Any]]:
    """The metrics the package computes (functions and registries), by command."""
    from ..corruptions import BASELINES
    from ..retrieval import AP_MODES, METRICS

    return [
        {"name": "shape_bias", "summary": "shape-bias: shape / (shape + texture) decisions on cue-conflict "
                                          "(stylebias.shapebias.shape_bias)"},
        {"name": "accuracy", "summary": "shape-bias: 16-class accuracy (stylebias.shapebias.accuracy)"},
        {"name": "mce", "summary": "robustness: mean corruption error normalised by a baseline "
                                   f"({', '.join(BASELINES.list())}) (stylebias.corruptions.mce)"},
        {"name": "relative_mce", "summary": "robustness: relative mCE (error minus clean error, normalised)"},
        {"name": "mean_error", "summary": "robustness: mean top-1 error over corruptions and severities"},
        {"name": "map", "summary": f"retrieval: mean average precision ({', '.join(AP_MODES)})"},
        {"name": "minp", "summary": "retrieval: mean inverse negative penalty"},
        {"name": "cmc", "summary": "retrieval: cumulative matching characteristic, rank-1/5/10"},
        {"name": "distance", "summary": f"retrieval --metric: {', '.join(METRICS)}"},
        {"name": "dg_accuracy", "summary": "train/demo: accuracy on held-out domains"},
        {"name": "corruption_error", "summary": "train/demo: error on the corrupted test split"},
    ]


def recipe_rows() -> list[dict[str, Any]]:
    """The shipped training recipes (``train --config NAME``) with their first comment line."""
    from ..recipes import RECIPE_DIR, list_recipes

    def summary(name: str) -> str:
        for line in (RECIPE_DIR / f"{name}.toml").read_text(encoding="utf-8").splitlines():
            if line.startswith("#"):
                return line.lstrip("# ").strip()
        return ""

    return [{"name": n, "summary": summary(n)} for n in list_recipes()]
