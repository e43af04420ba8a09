"""The CAM family through the maintained ``grad-cam`` library (jacobgil/pytorch-grad-cam).

Grad-CAM++, Score-CAM, Eigen-CAM, XGradCAM, LayerCAM, HiResCAM, Ablation-CAM and friends come
from ``pytorch_grad_cam`` (the optional extra ``pip install 'stylebias[cam]'``) rather than being
re-implemented here; this module only adapts it to stylebias: model specs and target tensors in,
one ``(B, H, W)`` tensor in [0, 1] out, on the batch at once, and a clear error when the
library is missing. Grad-CAM itself stays in :mod:`stylebias.shapebias.gradcam` (it explains
the 16 categories through the probability aggregation, which the library cannot); the tests
check that it equals the library's ``GradCAM``.

Each map is scaled by the library's ``scale_cam_image`` (min subtracted, divided by the max, then
resized to the input with OpenCV's bilinear ``cv2.resize``).

Reference:
    Gildenblat and contributors, PyTorch library for CAM methods, github.com/jacobgil/pytorch-grad-cam.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .._checks import check_module_names, check_shape
from ..errors import InvalidArgumentError

__all__ = ["CAM_METHODS", "library_cam", "require_grad_cam"]

# our method name -> the library's class name
CAM_METHODS: dict[str, str] = {
    "gradcam++": "GradCAMPlusPlus",
    "xgradcam": "XGradCAM",
    "layercam": "LayerCAM",
    "hirescam": "HiResCAM",
    "eigencam": "EigenCAM",
    "eigengradcam": "EigenGradCAM",
    "scorecam": "ScoreCAM",
    "ablationcam": "AblationCAM",
    "gradcam-elementwise": "GradCAMElementWise",
}


def require_grad_cam() -> Any:
    """The ``pytorch_grad_cam`` module, or an error that names the extra to install."""
    try:
        import pytorch_grad_cam
    except ImportError as err:
        raise InvalidArgumentError(
            f"the CAM methods {', '.join(CAM_METHODS)} come from the grad-cam library, which is not installed "
            f"({err}); install it with: pip install 'stylebias[cam]'"
        ) from None
    return pytorch_grad_cam


def library_cam(
    model: nn.Module,
    images: Tensor,
    method: str,
    layer: str | nn.Module,
    targets: Tensor,
    *,
    batch_size: int = 32,
) -> Tensor:
    """``method``'s maps of ``model`` for ``images``, explaining class ``targets[i]`` of image ``i``.

    Args:
        model: returns ``(B, classes)`` logits; it is put in eval mode while the maps are made
            and left as it was, its parameters' ``.grad`` included.
        images: ``(B, 3, H, W)`` as the model takes them.
        method: a key of :data:`CAM_METHODS`.
        layer: the target layer (a module or its name), e.g. the last convolutional stage.
        targets: ``(B,)`` class indices.
        batch_size: masked images per forward pass for Score-CAM and Ablation-CAM.

    Returns:
        ``(B, H, W)`` float32 maps in [0, 1] on ``images``' device.
    """
    check_shape(images, "B 3 H W", "images")
    if method not in CAM_METHODS:
        raise InvalidArgumentError(f"unknown CAM method {method!r}; choose from {', '.join(CAM_METHODS)}")
    if targets.shape != (images.shape[0],):
        raise InvalidArgumentError(f"targets must be one class index per image, shape ({images.shape[0]},); got {tuple(targets.shape)}")
    lib = require_grad_cam()
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    module = check_module_names(model, [layer])[0] if isinstance(layer, str) else layer
    cam_class = getattr(lib, CAM_METHODS[method])
    was_training = model.training
    params = list(model.parameters())
    grads = [p.grad for p in params]  # the library backpropagates into the model's parameters
    cam = cam_class(model=model, target_layers=[module])
    if hasattr(cam, "batch_size"):
        cam.batch_size = batch_size
    try:
        with torch.enable_grad():
            maps = cam(input_tensor=images, targets=[ClassifierOutputTarget(int(t)) for t in targets])
    finally:
        cam.activations_and_grads.release()
        model.train(was_training)
        for p, grad in zip(params, grads):
            p.grad = grad
    return torch.as_tensor(maps, dtype=torch.float32).to(images.device)
