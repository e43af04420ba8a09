"""Put a classifier through a stimulus set: ``evaluate(model, stimuli_dir)``.

Images are decoded and resized to uint8 ``(H, W, 3)`` arrays (in DataLoader workers when a GPU
runs the model; between forward passes on CPU, where the model's threads use every core), stacked
without transposition (the ``(B, 3, H, W)`` view of an ``(B, H, W, 3)`` stack is already
channels_last), converted to float per batch, run under ``torch.inference_mode``, and the 1000
logits mapped to 16-class decisions with one matrix product: the run is bound by the model's
compute (``benchmarks/shapebias.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .._checks import check_choice, check_positive
from ..errors import InvalidArgumentError, ModelOutputError
from ..image_files import ImageFiles, image_loader, read_image
from ..models import LoadedModel, Preprocess
from ..models.resolve import ModelLike, resolve_model
from ..runtime import default_num_workers, model_placement
from .categories import OUTPUT_WIDTHS, logits_to_decisions
from .metrics import ShapeBiasResult, Trial, accuracy, shape_bias
from .rawdata import raw_csv_name, result_from_csv, write_trials
from .stimuli import STIMULUS_SETS, Stimulus, find_stimuli, published_stimuli

# resolve_model (now in stylebias.models) and default_num_workers (now in stylebias.runtime)
# stay importable from here for one release.
__all__ = ["evaluate", "compare", "classify", "decision_batches", "resolve_model", "default_num_workers"]

def classify(
    loaded: LoadedModel,
    paths: Sequence[Path],
    *,
    batch_size: int = 32,
    num_workers: int | None = None,
    channels_last: bool = True,
    progress: bool = False,
) -> list[str]:
    """16-class decision for every image file, in order.

    Args:
        loaded: the model (see :func:`resolve_model`); must output 1000 ImageNet logits, or 16
            logits in :data:`~stylebias.shapebias.CATEGORIES` order.
        paths: image files.
        batch_size: images per forward pass.
        num_workers: DataLoader worker processes (default :func:`default_num_workers`: none on
            CPU, where decoding runs between forward passes; up to 8 with a GPU).
        channels_last: run in channels_last memory format (converts the model's parameters).
        progress: show a tqdm bar.

    Raises:
        ModelOutputError: the model does not return ``(B, 1000)`` or ``(B, 16)`` logits.
        DataError: an image cannot be read (named in the message).
    """
    batches = decision_batches(loaded, paths, batch_size=batch_size, num_workers=num_workers,
                               channels_last=channels_last, progress=progress)
    return [d for batch in batches for d in batch]


def decision_batches(
    loaded: LoadedModel,
    paths: Sequence[Path],
    *,
    batch_size: int = 32,
    num_workers: int | None = None,
    channels_last: bool = True,
    progress: bool = False,
    decide: Callable[[int], Callable[[Tensor], list[str]]] | None = None,
) -> Iterator[list[str]]:
    """The decisions of :func:`classify`, one list per batch as soon as it is decided (a caller
    can write results while later batches decode and run).

    Args:
        decide: ``decide(width)`` returns the function that turns ``(B, width)`` outputs into
            decisions; called once, on the first batch (default: ImageNet or 16-way heads,
            :func:`~stylebias.shapebias.categories.logits_to_decisions`). Any 2-D output is
            passed to it; it raises for widths it cannot map.
    """
    check_positive(batch_size, "batch_size")
    model = loaded.model
    device, dtype = model_placement(model)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    if channels_last:
        model.to(memory_format=torch.channels_last)
    files = ImageFiles(paths, partial(read_image, geometry=loaded.preprocess.geometry, channels_last=True))
    loader = image_loader(files, batch_size=batch_size, num_workers=num_workers, device=device)
    decision = None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(paths), unit="img", desc=loaded.name)
    try:
        with torch.inference_mode():
            for files_batch in loader:
                batch = files_batch.checked()  # DataError naming the unreadable files
                # (B, H, W, 3) -> (B, 3, H, W) view: already in channels_last memory format.
                x = batch.permute(0, 3, 1, 2).to(device, non_blocking=True).to(dtype).div_(255.0)
                x = x.contiguous(memory_format=memory_format)
                logits = _forward(model, x, first=decision is None, any_width=decide is not None)
                if decision is None:
                    decision = decide(logits.shape[1]) if decide is not None else logits_to_decisions
                yield decision(logits)
                if bar is not None:
                    bar.update(len(batch))
    finally:
        if bar is not None:
            bar.close()


def _forward(model: nn.Module, x: Tensor, *, first: bool, any_width: bool = False) -> Tensor:
    """The model on one batch; its output must be ``(B, 1000)`` or ``(B, 16)`` logits (any
    ``(B, K)`` with ``any_width``)."""
    try:
        logits = model(x)
    except (RuntimeError, ValueError, TypeError) as err:
        if not first:
            raise
        raise ModelOutputError(
            f"the model failed on the first batch of shape {tuple(x.shape)} ({err}); a 1000-way "
            f"ImageNet classifier taking (B, 3, H, W) RGB images is needed"
        ) from err
    widths = (logits.shape[1],) if any_width and isinstance(logits, Tensor) and logits.dim() == 2 else OUTPUT_WIDTHS
    if not isinstance(logits, Tensor) or logits.dim() != 2 or tuple(logits.shape) not in (
            (x.shape[0], width) for width in widths):
        got = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ModelOutputError(
            f"model returned {got} for a batch of {x.shape[0]}, but a 1000-way ImageNet "
            f"classifier is needed (output (B, 1000)), or a 16-way one with the categories in "
            f"CATEGORIES order (output (B, 16))" + (", or any (B, K) with a label mapping" if any_width else "")
        )
    return logits


def evaluate(
    model: ModelLike,
    stimuli_dir: str | os.PathLike[str] | None = None,
    *,
    stimuli: str = "cue-conflict",
    preprocess: Preprocess | Mapping[str, Any] | None = None,
    batch_size: int = 32,
    num_workers: int | None = None,
    device: str | torch.device | None = None,
    channels_last: bool = True,
    source: str | None = None,
    complete: bool | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    progress: bool = False,
) -> ShapeBiasResult:
    """Shape bias (cue-conflict) or 16-class accuracy (silhouettes, edges) of a classifier.

    Every image goes through ``preprocess`` (default: the model's own; ImageNet's resize 256 +
    centre crop 224 for user models), the model, a softmax, and the mean over each of the 16
    categories' ImageNet classes; the highest mean is the decision.

    Args:
        model: ``"torchvision:resnet50"``, ``"timm:NAME"``, ``"path/file.py:callable"``,
            ``"package.module:callable"``, a registered name, a :class:`LoadedModel`, or an
            ``nn.Module`` expecting ImageNet-normalised input. It must output 1000 logits.
        stimuli_dir: folder with the 16 category folders; default: the published set,
            downloaded into the cache on first use (sha256-checked).
        stimuli: ``"cue-conflict"``, ``"silhouettes"`` or ``"edges"``.
        preprocess: a :class:`Preprocess` or a dict of fields to change
            (``{"resize": 224, "crop": 224}`` feeds the 224-px stimuli unchanged, as
            model-vs-human does).
        batch_size: images per forward pass.
        num_workers: DataLoader workers (default: 0 on CPU, up to 8 with a GPU).
        device: where to run (default: where the model is; CPU for specs).
        channels_last: use channels_last memory format (faster convolutions on CPU and GPU).
        source: name in the result (default: the spec or the class name).
        complete: see :func:`~stylebias.shapebias.stimuli.find_stimuli`.
        cache_dir: cache for the default stimuli.
        download: allow downloading the default stimuli.
        progress: show progress bars.

    Returns:
        :class:`ShapeBiasResult`; its ``trials`` hold every decision (write them with
        :func:`~stylebias.shapebias.rawdata.write_trials`).

    Raises:
        DataError: missing or misnamed stimuli, unreadable images (named).
        ModelOutputError: the model's output is not 1000-way.
        MissingFileError: the default stimuli are not cached and cannot be downloaded.

    Example:
        >>> r = evaluate("torchvision:resnet50", "stimuli/cue-conflict")  # doctest: +SKIP
        >>> r.shape_bias, r.per_category["cat"]                            # doctest: +SKIP
    """
    check_choice(stimuli, STIMULUS_SETS, "stimuli")
    folder = (
        Path(stimuli_dir) if stimuli_dir is not None
        else published_stimuli(stimuli, cache_dir, download=download, progress=progress)
    )
    items: list[Stimulus] = find_stimuli(folder, stimuli, complete=complete)
    loaded = resolve_model(model, preprocess, device)
    responses = classify(
        loaded, [s.path for s in items], batch_size=batch_size, num_workers=num_workers,
        channels_last=channels_last, progress=progress,
    )
    trials = [Trial(s.name, s.category, r, s.texture) for s, r in zip(items, responses)]
    name = source or loaded.name
    if stimuli == "cue-conflict":
        return shape_bias(trials, name, stimuli=stimuli)
    return accuracy(trials, name, stimuli=stimuli)


def compare(
    models: Sequence[ModelLike] = (),
    csv_files: Sequence[str | os.PathLike[str]] = (),
    stimuli_dir: str | os.PathLike[str] | None = None,
    *,
    stimuli: str = "cue-conflict",
    output_dir: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> list[ShapeBiasResult]:
    """Results of raw-data CSV files and of models, side by side (CSV files first).

    Args:
        models: passed one by one to :func:`evaluate`.
        csv_files: model-vs-human raw-data CSVs (see
            :func:`~stylebias.shapebias.rawdata.result_from_csv`).
        stimuli_dir, stimuli: as in :func:`evaluate`.
        output_dir: if given, every model's decisions are written there as
            ``<stimuli>_<model>_session-1.csv`` in the raw-data format.
        **kwargs: further :func:`evaluate` arguments.

    Raises:
        InvalidArgumentError: neither models nor CSV files given.
    """
    if not models and not csv_files:
        raise InvalidArgumentError("give at least one model (--model) or raw-data CSV file (--from-csv)")
    results = [result_from_csv(f, stimuli if stimuli != "cue-conflict" else None) for f in csv_files]
    for model in models:
        result = evaluate(model, stimuli_dir, stimuli=stimuli, **kwargs)
        if output_dir is not None:
            write_trials(result.trials, Path(output_dir) / raw_csv_name(stimuli, result.source), result.source)
        results.append(result)
    return results
