"""Mean corruption error (mCE) and relative mCE, normalised by a baseline such as AlexNet.

Reference: Hendrycks & Dietterich, ICLR 2019, Section 3: for corruption ``c``,
``CE_c = sum_s E_{s,c} / sum_s E^AlexNet_{s,c}`` and
``relative CE_c = sum_s (E_{s,c} - E_clean) / sum_s (E^AlexNet_{s,c} - E^AlexNet_clean)``;
mCE and relative mCE average them over the 15 benchmark corruptions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Union

from .._registry import Registry
from ..errors import DataError, InvalidArgumentError
from ._base import CORRUPTIONS
from .api import BENCHMARK_CORRUPTIONS

__all__ = ["mce", "MCEResult", "ALEXNET_ERRORS", "ALEXNET_CLEAN_ERROR", "BASELINES"]

ErrorTable = Mapping[str, Union[float, Sequence[float]]]

#: AlexNet's top-1 error (fraction) on ImageNet-C, per corruption and severity 1-5, as
#: published with the benchmark (hendrycks/robustness); their means are the familiar
#: ``ALEXNET_ERR`` list (0.886428 for gaussian noise ...). No published values exist for the
#: four extra corruptions, which are therefore reported unnormalised.
ALEXNET_ERRORS: dict[str, tuple[float, float, float, float, float]] = {
    "gaussian_noise": (0.69528, 0.82542, 0.93554, 0.98138, 0.99452),
    "shot_noise": (0.71224, 0.85108, 0.93574, 0.98182, 0.99146),
    "impulse_noise": (0.78374, 0.89808, 0.9487, 0.9872, 0.99548),
    "defocus_blur": (0.65624, 0.73202, 0.85036, 0.91364, 0.94714),
    "glass_blur": (0.64308, 0.75054, 0.88806, 0.91622, 0.93344),
    "motion_blur": (0.5843, 0.70048, 0.82108, 0.8975, 0.92638),
    "zoom_blur": (0.70008, 0.76992, 0.80784, 0.84198, 0.87198),
    "snow": (0.71726, 0.88392, 0.86468, 0.9187, 0.94952),
    "frost": (0.6139, 0.79734, 0.8879, 0.89942, 0.9343),
    "fog": (0.67474, 0.7605, 0.84378, 0.8726, 0.945),
    "brightness": (0.4514, 0.48502, 0.54048, 0.62166, 0.7244),
    "contrast": (0.64548, 0.7615, 0.88874, 0.9776, 0.9927),
    "elastic_transform": (0.52596, 0.70116, 0.55686, 0.64076, 0.80554),
    "pixelate": (0.52218, 0.5462, 0.73728, 0.87092, 0.91262),
    "jpeg_compression": (0.51002, 0.54718, 0.57294, 0.65458, 0.74778),
}
#: AlexNet's clean ImageNet top-1 error (torchvision's AlexNet, 56.52% accuracy; 43.5% in
#: Hendrycks & Dietterich's Table 1), used by relative mCE.
ALEXNET_CLEAN_ERROR = 0.43478


@dataclass(frozen=True)
class Baseline:
    """Errors (fractions) of a reference network: per corruption, mean or five severities."""

    errors: Mapping[str, float | Sequence[float]]
    clean_error: float | None


BASELINES: Registry[Baseline] = Registry("mCE baseline")
BASELINES.register("alexnet", Baseline(ALEXNET_ERRORS, ALEXNET_CLEAN_ERROR))


@dataclass
class MCEResult:
    """mCE figures, all in percent.

    Attributes:
        mce: mean of ``ce`` over the 15 benchmark corruptions (AlexNet = 100); None without a
            baseline.
        relative_mce: mean of ``relative_ce``; None without the model's (or baseline's) clean error.
        mean_error: unnormalised mean corruption error over the benchmark corruptions given (the
            CIFAR-10-C / CIFAR-100-C convention).
        ce: corruption error per benchmark corruption (model error / baseline error * 100).
        relative_ce: relative corruption error per benchmark corruption.
        errors: the model's mean error per corruption (all given, extras included).
        clean_error: the model's clean error, if given.
        baseline: the baseline's name ("alexnet", "custom" or "none").
    """

    mce: float | None
    relative_mce: float | None
    mean_error: float
    ce: dict[str, float] = field(default_factory=dict)
    relative_ce: dict[str, float] = field(default_factory=dict)
    errors: dict[str, float] = field(default_factory=dict)
    clean_error: float | None = None
    baseline: str = "alexnet"

    def to_dict(self) -> dict:
        return asdict(self)


def _fraction(value: object, what: str) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be an error rate (a number in [0, 1]), got {value!r}") from None
    if not (0.0 <= v <= 1.0) or math.isnan(v):
        hint = " (errors are fractions, not percent: divide by 100)" if 1.0 < v <= 100.0 else ""
        raise InvalidArgumentError(f"{what} must be an error rate in [0, 1], got {v}{hint}")
    return v


def _mean_errors(table: ErrorTable, what: str) -> dict[str, float]:
    """Canonical corruption name -> mean error (fraction), validated."""
    if not isinstance(table, Mapping):
        raise TypeError(f"{what} must map corruption names to errors, got {type(table).__name__}")
    out: dict[str, float] = {}
    for key, value in table.items():
        name = CORRUPTIONS.canonical(str(key))
        if name in out:
            raise DataError(f"{what} names {name!r} twice (as {key!r} too)")
        if isinstance(value, (str, bytes)):
            raise TypeError(f"{what}[{key!r}] must be a number or 5 numbers, got {value!r}")
        if isinstance(value, Sequence) or hasattr(value, "__len__"):
            values = list(value)  # type: ignore[arg-type]
            if len(values) != 5:
                raise DataError(
                    f"{what}[{key!r}] must hold the 5 per-severity errors (or their mean), "
                    f"got {len(values)} values"
                )
            out[name] = sum(_fraction(v, f"{what}[{key!r}]") for v in values) / 5
        else:
            out[name] = _fraction(value, f"{what}[{key!r}]")
    return out


def mce(
    errors: ErrorTable,
    clean_error: float | None = None,
    baseline: str | ErrorTable | None = "alexnet",
    *,
    baseline_clean_error: float | None = None,
) -> MCEResult:
    """mCE and relative mCE of a model from its top-1 errors on the corruptions.

    Args:
        errors: corruption name -> top-1 error as a fraction in [0, 1], either the mean over
            the five severities or the five per-severity errors. Keys are matched by name (any
            order, any case; ``"jpeg"`` and ``"elastic"`` work). All 15 benchmark corruptions
            are needed for mCE; the 4 extras may be added and are reported in ``errors`` only.
        clean_error: the model's error on clean images (fraction); needed for relative mCE.
        baseline: ``"alexnet"`` (published ImageNet-C errors, built in), a table like
            ``errors`` for another reference network, or None for no normalisation (CIFAR-C
            reports the plain ``mean_error``).
        baseline_clean_error: the clean error of a custom ``baseline`` (for relative mCE).

    Returns:
        :class:`MCEResult` with ``mce``, ``relative_mce`` and per-corruption ``ce``, in percent.

    Raises:
        UnknownNameError: an unknown corruption name.
        DataError: a benchmark corruption is missing, or a list does not hold 5 errors.
        InvalidArgumentError: an error outside [0, 1] (e.g. given in percent).

    Example:
        >>> from stylebias.corruptions import ALEXNET_ERRORS
        >>> mce(ALEXNET_ERRORS, clean_error=ALEXNET_CLEAN_ERROR).mce
        100.0
    """
    model = _mean_errors(errors, "errors")
    missing = [n for n in BENCHMARK_CORRUPTIONS if n not in model]
    if missing:
        raise DataError(
            f"mCE needs the errors of all 15 ImageNet-C corruptions; missing: {', '.join(missing)}"
        )
    clean = None if clean_error is None else _fraction(clean_error, "clean_error")
    if baseline is None:
        base_name, base, base_clean = "none", None, None
    elif isinstance(baseline, str):
        entry = BASELINES.get(baseline)
        base_name, base, base_clean = BASELINES.canonical(baseline), _mean_errors(entry.errors, baseline), entry.clean_error
    else:
        base_name, base = "custom", _mean_errors(baseline, "baseline")
        base_clean = None if baseline_clean_error is None else _fraction(baseline_clean_error, "baseline_clean_error")
        lacking = [n for n in BENCHMARK_CORRUPTIONS if n not in base]
        if lacking:
            raise DataError(f"the baseline lacks errors for: {', '.join(lacking)}")

    mean_error = 100 * sum(model[n] for n in BENCHMARK_CORRUPTIONS) / len(BENCHMARK_CORRUPTIONS)
    ce: dict[str, float] = {}
    rel: dict[str, float] = {}
    if base is not None:
        for n in BENCHMARK_CORRUPTIONS:
            if base[n] <= 0:
                raise InvalidArgumentError(f"the baseline's error for {n} is 0; cannot normalise by it")
            ce[n] = 100 * model[n] / base[n]
            if clean is not None and base_clean is not None:
                gap = base[n] - base_clean
                if gap == 0:
                    raise InvalidArgumentError(f"the baseline's {n} error equals its clean error")
                rel[n] = 100 * (model[n] - clean) / gap
    return MCEResult(
        mce=sum(ce.values()) / len(ce) if ce else None,
        relative_mce=sum(rel.values()) / len(rel) if rel else None,
        mean_error=mean_error,
        ce=ce,
        relative_ce=rel,
        errors={n: 100 * v for n, v in model.items()},
        clean_error=None if clean is None else 100 * clean,
        baseline=base_name,
    )
