"""Checks that a model's output fits the evaluation it is put through."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ModelOutputError

__all__ = ["check_num_outputs"]


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
    try:
        with torch.inference_mode():
            out = model(x)
    except (RuntimeError, ValueError, TypeError) as err:
        raise ModelOutputError(
            f"the model failed on a dummy batch of shape {tuple(x.shape)} ({err}); "
            f"{what} taking (B, 3, {h}, {w}) RGB images is needed"
        ) from err
    if not isinstance(out, torch.Tensor):
        raise ModelOutputError(
            f"model returned a {type(out).__name__}, but {what} is needed: it must return one "
            f"tensor of shape (batch, {expected}); wrap the model so forward() returns the logits"
        )
    if tuple(out.shape) != (batch, expected):
        raise ModelOutputError(
            f"model returned {tuple(out.shape)} for a batch of {batch}, but {what} is needed "
            f"(output shape ({batch}, {expected})). Use a model with a {expected}-way head, or "
            f"map its outputs to {expected} logits."
        )
