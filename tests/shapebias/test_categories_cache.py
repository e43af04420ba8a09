"""The cached category matrix stays usable by autograd after a first use in inference mode."""

import torch

from stylebias.shapebias.categories import _matrix, aggregation_matrix


def test_matrix_first_built_in_inference_mode_is_a_normal_tensor():
    _matrix.cache_clear()  # build it fresh, as the first shape-bias run of a process does
    with torch.inference_mode():
        aggregation_matrix(torch.float32, "cpu")
    mat = aggregation_matrix(torch.float32, "cpu")
    assert not mat.is_inference()
    logits = torch.randn(2, 1000, requires_grad=True)
    (torch.softmax(logits, dim=1) @ mat)[:, 3].sum().backward()  # Grad-CAM with a category target
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
