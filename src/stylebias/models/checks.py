"""Checks that a model's output fits the evaluation it is put through."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ModelOutputError

__all__ = ["check_num_outputs", "output_width"]


def check_num_outputs(
    model: nn.Module,
    expected: int = 1000,
    input_size: int | tuple[int, int] = 224,
    *,
    what: str = "a 1000-way ImageNet classifier",
    batch: int = 2,
) -> None:
    """Run a dummy batch and check the model returns logits of shape ``(batch, expected)``.

    The model is run under ``torch.inference_mode`` on zeros of shape
    ``(batch, 3, H, W)`` (on the device of its first parameter or buffer), in its current mode.

    Args:
        model: takes ``(B, 3, H, W)`` RGB in [0, 1] (e.g. ``LoadedModel.model``).
        expected: number of outputs per image.
        input_size: ``H`` (= ``W``) or ``(H, W)`` in pixels.
        what: description of the needed model used in the error message.
        batch: dummy batch size.

    Raises:
        ModelOutputError: the output is not one tensor of shape ``(batch, expected)``, or the
            forward pass itself fails on that input size.
    """
    h, w = (input_size, input_size) if isinstance(input_size, int) else input_size
    tensors = [*model.parameters(), *model.buffers()]
    device = tensors[0].device if tensors else torch.device("cpu")
    dtype = next((t.dtype for t in tensors if t.is_floating_point()), torch.float32)
    x = torch.zeros(batch, 3, h, w, device=device, dtype=dtype)
    width = output_width(model, x, what=what, sample="a dummy batch")
    if width != expected:
        raise ModelOutputError(
            f"model returned {(batch, width)} for a batch of {batch}, but {what} is needed "
            f"(output shape ({batch}, {expected})). Use a model with a {expected}-way head, or "
            f"map its outputs to {expected} logits."
        )


def output_width(
    model: nn.Module, x: torch.Tensor, *, what: str = "a classifier", sample: str = "a sample batch"
) -> int:
    """Run ``model`` once on ``x`` and return ``K`` of its ``(B, K)`` output.

    Evaluations call this on their first images before any real work, so that a model that
    does not fit fails with one clear message instead of a traceback deep in a loop.

    Args:
        model: takes ``x`` (e.g. ``LoadedModel.model``, RGB in [0, 1]); run as it is (no mode
            switch) under ``torch.inference_mode``.
        x: ``(B, 3, H, W)`` input on the model's device.
        what: description of the needed model used in the error message.
        sample: how the message names ``x`` (e.g. ``"the first images of data/"``).

    Returns:
        The number of outputs per image.

    Raises:
        ModelOutputError: the forward pass fails on ``x``, or the output is not one tensor of
            shape ``(B, K)``.
    """
    batch, _, h, w = x.shape
    try:
        with torch.inference_mode():
            out = model(x)
    except (RuntimeError, ValueError, TypeError, IndexError) as err:
        raise ModelOutputError(
            f"the model failed on {sample} of shape {tuple(x.shape)} ({err}); "
            f"{what} taking (B, 3, {h}, {w}) RGB images is needed"
        ) from err
    if not isinstance(out, torch.Tensor):
        raise ModelOutputError(
            f"model returned a {type(out).__name__}, but {what} is needed: it must return one "
            f"tensor of shape (batch, K); wrap the model so forward() returns one tensor"
        )
    if out.dim() != 2 or out.shape[0] != batch:
        raise ModelOutputError(
            f"model returned {tuple(out.shape)} for a batch of {batch}, but {what} is needed "
            f"(output shape ({batch}, K)); wrap the model so forward() returns a "
            f"(batch, K) tensor (e.g. flatten pooled features)"
        )
    return int(out.shape[1])
