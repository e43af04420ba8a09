"""stylize_pairs (any stylizer or callable on image pairs) and cue_conflict_targets."""

import pytest
import torch
from torch.nn.functional import cross_entropy

from stylebias.errors import InvalidArgumentError, ShapeError
from stylebias.functional import adain
from stylebias.stylize import AdaINStylizer, ContrastiveStylizer
from stylebias.stylize.augment import sample_fraction
from stylebias.stylize.pairs import cue_conflict_targets, stylize_pairs


def test_a_callable_is_blended_with_the_content_in_pixel_space():
    g = torch.Generator().manual_seed(0)
    content, style = torch.rand(3, 3, 8, 8, generator=g), torch.rand(3, 3, 6, 6, generator=g)
    out = stylize_pairs(adain, content, style, 0.25)
    expected = (0.75 * content + 0.25 * adain(content, style)).clamp(0, 1)
    torch.testing.assert_close(out, expected)
    # alpha 1: the callable's output itself (clamped to images); alpha 0: the content
    torch.testing.assert_close(stylize_pairs(adain, content, style, 1.0), adain(content, style).clamp(0, 1))
    torch.testing.assert_close(stylize_pairs(adain, content, style, 0.0), content)
    # pairs stay pairs: content i takes the statistics of style i alone (values kept in [0, 1])
    narrow = 0.4 + 0.2 * style
    mean = stylize_pairs(adain, content, narrow, 1.0).mean(dim=(2, 3))
    torch.testing.assert_close(mean, narrow.mean(dim=(2, 3)))


@pytest.mark.parametrize("cls", [AdaINStylizer, ContrastiveStylizer])
def test_a_stylizer_gets_one_style_per_content_image(cls):
    torch.manual_seed(0)
    stylizer = cls().eval()  # random weights: any Stylizer, through its encode_style/cat_codes
    content, style = torch.rand(2, 3, 20, 20), torch.rand(2, 3, 24, 16)
    out = stylize_pairs(stylizer, content, style, 0.5)
    with torch.no_grad():  # the stylizer's own forward on the style images, one pair at a time
        one_by_one = torch.cat([stylizer(content[i : i + 1], style[i : i + 1], 0.5) for i in range(2)])
    torch.testing.assert_close(out, one_by_one, atol=1e-5, rtol=1e-4)
    assert out.shape == content.shape and not out.requires_grad


def test_no_gradient_reaches_the_stylizer_or_the_inputs():
    content = torch.rand(2, 3, 8, 8, requires_grad=True)
    calls = []

    def transfer(c, s):
        calls.append(torch.is_grad_enabled())
        return adain(c, s)

    out = stylize_pairs(transfer, content, torch.rand(2, 3, 8, 8), 0.5)
    assert calls == [False] and not out.requires_grad


def test_bad_pairs_and_bad_callables_are_named():
    x = torch.rand(2, 3, 8, 8)
    with pytest.raises(ShapeError, match="one image per content image"):
        stylize_pairs(adain, x, torch.rand(3, 3, 8, 8))
    with pytest.raises(ShapeError, match=r"content's shape \(2, 3, 8, 8\); got \(2, 3, 4, 4\)"):
        stylize_pairs(lambda c, s: c[..., :4, :4], x, x)
    with pytest.raises(InvalidArgumentError, match="alpha"):
        stylize_pairs(adain, x, x, 1.5)


def test_cue_conflict_targets_are_the_papers_soft_labels():
    shape, texture = torch.tensor([0, 2, 1]), torch.tensor([1, 2, 0])
    expected = torch.tensor([[0.7, 0.3, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.3, 0.7, 0.0, 0.0]])
    torch.testing.assert_close(cue_conflict_targets(shape, texture, 4, 0.7), expected)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_soft_target_cross_entropy_equals_the_reference_mixed_loss(smoothing):
    # the reference: gamma * CE(shape) + (1 - gamma) * CE(texture), per sample, then the mean
    logits = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
    shape, texture = torch.tensor([0, 1, 2, 3, 0]), torch.tensor([1, 1, 0, 2, 3])
    ce = lambda y: cross_entropy(logits, y, reduction="none", label_smoothing=smoothing)  # noqa: E731
    reference = (0.8 * ce(shape) + 0.2 * ce(texture)).mean()
    ours = cross_entropy(logits, cue_conflict_targets(shape, texture, 4, 0.8), label_smoothing=smoothing)
    torch.testing.assert_close(ours, reference)


def test_sample_fraction_counts_and_draws_from_the_generator():
    assert sample_fraction(8, 1.0, torch.Generator().manual_seed(0)).tolist() == list(range(8))
    assert sample_fraction(8, 0.0, torch.Generator().manual_seed(0)).numel() == 0
    counts = [sample_fraction(4, 0.3, torch.Generator().manual_seed(s)).numel() for s in range(400)]
    assert set(counts) == {1, 2} and abs(sum(counts) / 400 - 1.2) < 0.1  # E[k] = 0.3 * 4
    a = sample_fraction(10, 0.5, torch.Generator().manual_seed(3))
    torch.manual_seed(123)  # the global RNG plays no part
    assert torch.equal(a, sample_fraction(10, 0.5, torch.Generator().manual_seed(3)))
