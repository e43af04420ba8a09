"""ShapeTexture: determinism, shapes, balance, texture statistics, domains, caching, errors."""

import pytest
import torch
from torch.utils.data import DataLoader

from stylebias.datasets import DATASETS, ShapeTexture, ShapeTextureConfig, create_dataset
from stylebias.datasets.render import DOMAINS, Draws, draw, render
from stylebias.errors import DataError, InvalidArgumentError, UnknownNameError


def small(**kw):
    kw.setdefault("n_per_class", 2)
    return ShapeTexture(**kw)


def test_items_are_rgb_images_in_unit_range_with_labels():
    ds = small(split="train")
    assert len(ds) == 10 * 4 * 2
    image, label, domain = ds[7]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    # quantised to 8-bit levels, so a cached copy is exact
    assert torch.equal((image * 255).round() / 255, image)
    assert (label, domain) == (7, 0)
    assert ds.input_shape == ShapeTexture.INPUT_SHAPE == (3, 32, 32)
    assert small(image_size=48)[0][0].shape == (3, 48, 48)


def test_layout_is_class_and_domain_balanced_in_every_prefix():
    ds = small(domains=("cartoon", "sketch"), n_per_class=3)
    assert torch.equal(ds.labels[:10], torch.arange(10))
    assert torch.bincount(ds.labels).tolist() == [6] * 10
    # domain indices are global: cartoon = 1, sketch = 2
    assert torch.bincount(ds.domain_labels, minlength=4).tolist() == [0, 30, 30, 0]
    assert ds.domain_labels[:20].tolist() == [1] * 10 + [2] * 10


def test_same_seed_same_bytes_and_different_seed_differs():
    a, b = small(seed=3), small(seed=3)
    assert torch.equal(a.tensors()[0], b.tensors()[0])
    c = small(seed=4)
    assert not torch.equal(a.tensors()[0], c.tensors()[0])
    v = small(seed=3, split="val")
    assert not torch.equal(a.tensors()[0], v.tensors()[0])


def test_item_does_not_depend_on_access_order_batch_or_other_domains():
    cached = small(n_per_class=3)
    lazy = small(n_per_class=3, cache="none")
    for i in (57, 3, 101, 0):
        assert torch.equal(lazy[i][0], cached[i][0])
    assert torch.equal(lazy.render([101, 3])[1], cached[3][0])
    # the photo images stay the same when the other domains change
    only_photo = small(domains=("photo",), n_per_class=3)
    photo_in_all = cached.domain_labels == DOMAINS.index("photo")
    assert torch.equal(only_photo.tensors()[0], cached.tensors()[0][photo_in_all])


def test_dataloader_workers_give_the_same_images():
    ds = small(cache="none", domains=("painting",))
    loader = DataLoader(ds, batch_size=8, num_workers=2, shuffle=False)
    images, labels, domains = (torch.cat(t) for t in zip(*loader))
    ref = small(domains=("painting",)).tensors()
    assert torch.equal(images, ref[0]) and torch.equal(labels, ref[1])
    assert domains.tolist() == [3] * len(ds)


@pytest.mark.parametrize("corr, expected", [(0.9, 0.91), (0.5, 0.55), (0.0, 0.1)])
def test_texture_correlation_holds(corr, expected):
    # texture = class texture with probability corr, else uniform over the 10 textures:
    # P(texture == class) = corr + (1 - corr) / 10. Labels need no rendering (cache="none").
    ds = ShapeTexture("train", n_per_class=150, texture_correlation=corr, cache="none")
    match = (ds.texture_labels == ds.labels).float().mean().item()
    assert abs(match - expected) < 0.03  # 6000 draws: sd < 0.007
    if corr == 0.0:  # independent: every class sees every texture about equally often
        counts = torch.zeros(10, 10)
        counts.index_put_((ds.labels, ds.texture_labels), torch.ones(len(ds)), accumulate=True)
        assert counts.min() > 30 and counts.max() < 95  # expected 60 each


def test_texture_correlation_one_means_texture_is_the_label():
    ds = ShapeTexture("train", n_per_class=20, texture_correlation=1.0, cache="none")
    assert torch.equal(ds.texture_labels, ds.labels)


def test_cue_conflict_texture_never_equals_shape_and_all_pairs_occur():
    ds = ShapeTexture("cue_conflict", n_per_class=60, cache="none", return_texture=True)
    assert (ds.texture_labels != ds.labels).all()
    pairs = set(zip(ds.labels.tolist(), ds.texture_labels.tolist()))
    assert len(pairs) == 90  # every (shape, other texture) pair
    image, label, domain, texture = ds[5]
    assert texture == ds.texture_labels[5] and label == 5


def test_return_texture_works_with_default_collate():
    ds = small(split="test", return_texture=True)
    images, labels, domains, textures = next(iter(DataLoader(ds, batch_size=6)))
    assert images.shape == (6, 3, 32, 32)
    assert torch.equal(textures, ds.texture_labels[:6])


def _same_pose_batch(domain, labels, textures, size=32):
    n = len(labels)
    d = draw(torch.Generator().manual_seed(11), size)
    draws = Draws.stack([d] * n)
    return render(torch.tensor(labels), torch.tensor(textures), torch.full((n,), domain), draws, size)


def test_sketch_carries_little_texture():
    # same pose and shape (a circle), all ten textures: how much does texture change the image?
    # (measured: sketch 0.016; photo 0.061, cartoon 0.105, painting 0.080)
    change = {}
    for k, name in enumerate(DOMAINS):
        imgs = _same_pose_batch(k, [0] * 10, list(range(10)))
        change[name] = (imgs - imgs.mean(0)).abs().mean().item()
    assert change["sketch"] < 0.4 * min(change[d] for d in ("photo", "cartoon", "painting"))
    # ... while the shape still changes sketches as much as other domains
    for k, name in enumerate(DOMAINS):
        imgs = _same_pose_batch(k, list(range(10)), [3] * 10)
        assert (imgs - imgs.mean(0)).abs().mean().item() > 0.03, name


def _stats(images):
    grey = images.mean(1)
    saturation = (images.amax(1) - images.amin(1)).mean().item()
    edges = (grey[:, :, 1:] - grey[:, :, :-1]).abs().mean().item()
    return torch.tensor([grey.mean().item(), grey.std().item(), saturation, edges])


def test_domains_differ_in_pixel_statistics():
    ds = ShapeTexture("train", n_per_class=6)
    images, _, domains, _ = ds.tensors()
    stats = {name: _stats(images[domains == k]) for k, name in enumerate(DOMAINS)}
    # measured (brightness, contrast, saturation, edges): photo (0.40, 0.16, 0.17, 0.06),
    # cartoon (0.70, 0.27, 0.25, 0.08), sketch (0.88, 0.15, 0.00, 0.06), painting (0.53, 0.14,
    # 0.40, 0.09)
    assert stats["sketch"][2] < 0.02  # grey pencil on paper
    assert stats["sketch"][0] > stats["photo"][0] + 0.2  # paper white vs darker photos
    assert stats["cartoon"][0] > stats["photo"][0] + 0.15  # bright pastel backgrounds
    assert stats["painting"][2] > stats["cartoon"][2] + 0.08  # saturated colour everywhere
    names = list(stats)
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            gap = (stats[names[i]] - stats[names[j]]).abs().max().item()
            assert gap > 0.05, (names[i], names[j], stats[names[i]], stats[names[j]])


def test_disk_cache_is_written_once_and_reused(tmp_path, monkeypatch):
    a = small(cache_dir=str(tmp_path))
    path = a.cache_path()
    assert path.exists() and path.parent == tmp_path
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left
    monkeypatch.setattr(ShapeTexture, "_render_all", lambda self: pytest.fail("re-rendered"))
    b = small(cache_dir=str(tmp_path))
    assert torch.equal(a.tensors()[0], b.tensors()[0])
    key = ShapeTextureConfig(n_per_class=2).content_key()
    assert key in path.name
    assert ShapeTextureConfig(n_per_class=2, seed=1).content_key() != key
    assert ShapeTextureConfig(n_per_class=2, return_texture=True).content_key() == key


def test_bad_cache_file_raises_data_error_naming_it(tmp_path):
    path = small(cache_dir=str(tmp_path)).cache_path()
    path.write_bytes(b"not a torch file")
    with pytest.raises(DataError, match="Delete it"):
        small(cache_dir=str(tmp_path))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"split": "training"}, "split must be one of"),
        ({"domains": ("photo", "clipart")}, "domain must be one of"),
        ({"domains": ()}, "at least one"),
        ({"domains": ("photo", "photo")}, "must not repeat"),
        ({"n_per_class": 0}, "n_per_class must be an integer >= 1"),
        ({"image_size": 8}, "image_size must be an integer >= 16"),
        ({"texture_correlation": 1.5}, r"probability in \[0, 1\]"),
        ({"cache": "disk"}, "cache must be one of"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        ShapeTexture(**kwargs)


def test_config_object_and_single_domain_string():
    cfg = ShapeTextureConfig(split="val", domains="sketch", n_per_class=1)
    assert cfg.domains == ("sketch",)
    ds = ShapeTexture(config=cfg)
    assert ds.domains == ("sketch",) and len(ds) == 10
    with pytest.raises(InvalidArgumentError, match="either config"):
        ShapeTexture(config=cfg, n_per_class=3)
    with pytest.raises(IndexError, match="out of range"):
        ds[10]
    assert torch.equal(ds[-1][0], ds[9][0])


def test_repr_and_describe_say_what_it_is():
    ds = small(split="cue_conflict", domains=("photo",))
    assert "cue_conflict" in repr(ds) and "photo" in repr(ds)
    text = ds.describe()
    assert "20 images" in text and "cue conflict" in text and "circle" in text


def test_registry_finds_the_benchmark():
    assert DATASETS.get("shape-texture") is ShapeTexture
    ds = create_dataset("builtin", "test", domains=("sketch",), n_per_class=1)
    assert isinstance(ds, ShapeTexture) and ds.config.split == "test"
    cls = DATASETS.get("ShapeTexture")
    assert cls.NUM_CLASSES == len(cls.CLASSES) == len(cls.TEXTURES) == 10
    assert len(cls.DOMAINS) >= 4
    with pytest.raises(UnknownNameError, match="shape_texture"):
        DATASETS.get("shape_textures_x")
