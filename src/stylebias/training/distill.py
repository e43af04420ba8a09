"""Robust distillation (Ravula et al., NeurIPS 2021): a student learns, from distorted images,
the embeddings a frozen teacher gives the clean ones.

How it fits the training loop: the network the loop builds from ``cfg.model`` (with
``cfg.pretrained`` weights, then the ``teacher_checkpoint`` hyperparameter's weights when
given) is the teacher. :class:`RobustDistill` keeps a frozen copy of it as the teacher and
trains the network itself as the student, so the student starts equal to the teacher. The
student's classifier head is frozen too: it stays the teacher's head, so ``predict`` (and the
loop's evaluation) gives the teacher head's logits on the student's features. A linear probe
on the student's embeddings (:meth:`RobustDistill.embed` with
:func:`~stylebias.training.linear_probe.fit_linear_probe`) is the other evaluation.

The embedding of either network is the input of its classifier head
(:func:`stylebias.models.penultimate_features`): the penultimate features of a classifier,
the image embedding of an ``open_clip:`` encoder.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_choice
from ..errors import DataError, InvalidArgumentError
from ..functional import nt_xent
from ..hub.weights import load_torch_file
from ..models import classifier_head, penultimate_features
from ..runtime import unwrap
from .distortions import canonical_distortions, distort
from .linear_probe import fit_linear_probe  # noqa: F401  (re-exported: the probe evaluation)
from .methods import METHODS, Method

__all__ = ["RobustDistill", "load_teacher_weights", "distillation_loss", "fit_linear_probe"]


def distillation_loss(student: Tensor, teacher: Tensor, kind: str = "nt_xent", tau: float = 0.1) -> Tensor:
    """The loss between the student's ``(B, D)`` embeddings of distorted images and the
    teacher's of the same images clean.

    ``"nt_xent"``: :func:`~stylebias.functional.nt_xent` (positives: the same image;
    negatives: every other embedding of the batch, of both networks; the paper's
    ``loss_type="simclr"``); ``"mse"``: the mean squared error of the raw embeddings
    (``loss_type="mse"``).
    """
    check_choice(kind, ("nt_xent", "mse"), "distill_loss")
    if kind == "mse":
        return F.mse_loss(student, teacher)
    return nt_xent(teacher, student, tau=tau)


def load_teacher_weights(model: nn.Module, path: str) -> None:
    """Load the teacher's weights from ``path`` into ``model`` (``weights_only=True``).

    The file holds a state_dict of ``model``, or is a stylebias training checkpoint
    (``checkpoint.pt`` of a run of the same ``--model`` on data with the same classes).

    Raises:
        MissingFileError: no file at ``path``.
        DataError: the file holds something else, or weights that do not fit ``model``.
    """
    fix = "save the teacher with torch.save(model.state_dict(), path), or give a stylebias run's checkpoint.pt"
    state = load_torch_file(path, what="teacher checkpoint (hparams teacher_checkpoint)", fix=fix)
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]  # a training run's checkpoint
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise DataError(f"teacher checkpoint {path} holds no state_dict (a dict of tensors); {fix}")
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise DataError(
            f"teacher checkpoint {path} does not fit the model ({str(err)[:300]}); it must hold the weights of "
            f"this run's --model with the data's number of classes"
        ) from None


class RobustDistill(Method):
    """Robust distillation (Ravula et al.): a student matches a frozen teacher's embeddings from distorted images.

    The student sees a distorted batch, the frozen teacher the clean one, and the student's
    embeddings are pulled to the teacher's.

    Every step draws one distortion of ``hparams["corruptions"]`` for the whole batch
    (``mask``, ``noise``, ``blur`` or any stylebias corruption,
    :mod:`~stylebias.training.distortions`) at ``hparams["severity"]``, all from
    ``self.generator``; the loss is ``hparams["distill_loss"]`` (``"nt_xent"`` at temperature
    ``hparams["temperature"]``, or ``"mse"``). Under DDP each process contrasts its own batch.

    Args:
        model: the network built from the teacher's spec; it becomes the student (trained in
            place) and a frozen copy of it the teacher. ``hparams["teacher_checkpoint"]``
            (a path or None) is loaded into it first.
        hparams, layer, layer_after, layer_preset, generator, amp_dtype: as
            :class:`~stylebias.training.methods.Method`; a style layer attaches to the student
            only. Without a generator one seeded with 0 is used.

    Raises:
        InvalidArgumentError: an unknown loss, a temperature <= 0, a severity outside 1..5,
            or a model without a classifier head.
        UnknownNameError: an unknown distortion name.
        MissingFileError, DataError: a teacher checkpoint that is missing or does not fit.

    Reference:
        Ravula, Smyrnis, Jordan and Dimakis, "Inverse Problems Leveraging Pre-trained
        Contrastive Representations", NeurIPS 2021, arXiv:2110.07439.
    """

    def __init__(self, model: nn.Module, hparams: dict[str, Any], **options: Any) -> None:
        kind = check_choice(hparams["distill_loss"], ("nt_xent", "mse"), "distill_loss")
        tau = hparams["temperature"]
        if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not tau > 0:
            raise InvalidArgumentError(f"temperature must be a number > 0, got {tau!r}")
        severity = hparams["severity"]
        if isinstance(severity, bool) or not isinstance(severity, int) or not 1 <= severity <= 5:
            raise InvalidArgumentError(f"severity must be an integer from 1 to 5, got {severity!r}")
        corruptions = canonical_distortions(hparams["corruptions"])
        student_head = classifier_head(model)  # a model without one fails before any file is read
        if hparams.get("teacher_checkpoint"):
            load_teacher_weights(model, hparams["teacher_checkpoint"])
        teacher = copy.deepcopy(model).requires_grad_(False).eval()  # before a style layer attaches
        super().__init__(model, hparams, **options)  # the same constructor as every method
        self.kind, self.tau, self.severity, self.corruptions = kind, float(tau), severity, corruptions
        self.teacher = teacher
        self.teacher_head = classifier_head(teacher)
        self.student_head = student_head.requires_grad_(False)  # stays the teacher's head

    def train(self, mode: bool = True) -> RobustDistill:
        """Set the student's mode; the teacher stays in eval mode (its BN statistics frozen)."""
        super().train(mode)
        self.teacher.eval()
        return self

    def distort(self, x: Tensor) -> Tensor:
        """The student's input: one distortion, drawn from ``self.generator``, for the batch."""
        pick = int(torch.randint(len(self.corruptions), (1,), generator=self.generator))
        return distort(x, self.corruptions[pick], self.severity, self.generator)

    def update(self, batch: tuple[Tensor, ...]) -> dict[str, float]:
        x = batch[0]
        distorted = self.distort(x)
        with torch.no_grad(), self.autocast():
            target, _ = penultimate_features(self.teacher, x, self.teacher_head)
        with self.autocast():
            student, _ = penultimate_features(self.model, distorted, self.student_head)
        loss = distillation_loss(student.float(), target.float(), self.kind, self.tau)
        self.backward(loss)
        self.optimizer_step()
        cosine = F.cosine_similarity(student.detach().float(), target.float(), dim=1).mean()
        return {"loss": loss.item(), "cosine": cosine.item()}

    @torch.inference_mode()
    def embed(self, x: Tensor) -> Tensor:
        """The student's ``(B, D)`` float32 embeddings of ``x`` (for a linear probe)."""
        with self.autocast():
            return penultimate_features(unwrap(self.model), x, self.student_head)[0].float()

    @torch.inference_mode()
    def embed_teacher(self, x: Tensor) -> Tensor:
        """The teacher's ``(B, D)`` float32 embeddings of ``x``."""
        with self.autocast():
            return penultimate_features(self.teacher, x, self.teacher_head)[0].float()


METHODS.register("robust_distill", RobustDistill)
