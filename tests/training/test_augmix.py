"""The JSD-consistency methods (AugMix, PRIME): one forward, the loss, resume, DDP, CLI, effect."""

import json

import pytest
import torch
import torch.nn.functional as F

from stylebias.augment.augmix import augment_and_mix, jensen_shannon
from stylebias.errors import InvalidArgumentError
from stylebias.layers import MixStyle
from stylebias.models import build_classifier
from stylebias.training import METHODS, default_hparams, load_config, train
from stylebias.training.augmix import AugMix
from tests.training.test_loop import cfg_for, weights

JSD_METHODS = ["augmix", "prime"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch thread (restored after): many small augmentation ops, which torch's thread
    pool slows down tens of times on a busy shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def built(name, hparams=None, **kw):
    torch.manual_seed(0)
    model = build_classifier("small_resnet", 3, width=4)
    method = METHODS.get(name)(model, {**default_hparams(name), **(hparams or {})}, **kw)
    method.configure_optimizer()
    return method


def count_forwards(method):
    sizes = []
    method.model.register_forward_hook(lambda m, inp, out: sizes.append(inp[0].shape[0]))
    return sizes


@pytest.mark.parametrize("name", JSD_METHODS)
def test_clean_and_two_views_go_through_one_forward_and_the_loss_is_ce_plus_weighted_jsd(name, bundle):
    x, y = bundle.train.tensors[0][:8], bundle.train.tensors[1][:8]
    method = built(name, generator=torch.Generator().manual_seed(5))
    sizes = count_forwards(method)
    logs = method.update((x, y))
    assert sizes == [24]  # clean + two augmented views, concatenated (one DDP all-reduce)
    assert logs["loss"] == pytest.approx(logs["ce"] + 12 * logs["jsd"], rel=1e-5)
    assert logs["jsd"] > 0
    # the same step recomputed by hand: the views are the method's two draws from its generator
    again = built(name, generator=torch.Generator().manual_seed(5))
    views = [again.augment(x) for _ in range(2)]
    with torch.no_grad():
        clean, a1, a2 = again.model(torch.cat([x, *views])).split(8)
    assert F.cross_entropy(clean, y).item() == pytest.approx(logs["ce"], rel=1e-5)
    assert jensen_shannon(clean, a1, a2).item() == pytest.approx(logs["jsd"], rel=1e-4)


@pytest.mark.parametrize("name", JSD_METHODS)
def test_without_jsd_the_network_sees_one_augmented_view(name, bundle):
    x, y = bundle.train.tensors[0][:8], bundle.train.tensors[1][:8]
    method = built(name, {"jsd": False})
    sizes = count_forwards(method)
    logs = method.update((x, y))
    assert sizes == [8] and set(logs) == {"loss"}


@pytest.mark.parametrize("name", JSD_METHODS)
def test_composes_with_a_style_layer_which_keeps_its_own_alpha(name, bundle):
    method = built(name, layer="mixstyle", layer_after=["layer1"])
    layer = method.handle.layers["layer1"]
    assert isinstance(layer, MixStyle) and layer.alpha == 0.1  # not the mixing alpha (1.0)
    assert layer.generator is method.generator  # one generator for the layer and the augmentation
    logs = method.update((bundle.train.tensors[0][:8], bundle.train.tensors[1][:8]))
    assert torch.isfinite(torch.tensor(logs["loss"]))


@pytest.mark.parametrize("name", JSD_METHODS)
def test_without_a_generator_the_method_is_still_deterministic(name, bundle):
    batch = (bundle.train.tensors[0][:8], bundle.train.tensors[1][:8])
    torch.manual_seed(1)
    first = built(name).update(batch)
    torch.manual_seed(2)  # the global RNG must not matter
    assert built(name).update(batch) == first


@pytest.mark.parametrize("name", JSD_METHODS)
def test_amp_bf16_on_cpu_augments_in_float32_and_trains(tmp_path, bundle, name):
    result = train(cfg_for(tmp_path, method=name, amp=True, steps=2), data=bundle)
    assert torch.isfinite(torch.tensor([result.final["loss"], result.final["jsd"]])).all()


def test_bad_hyperparameters_are_clear_errors():
    with pytest.raises(InvalidArgumentError, match="augmix hparams: severity must be in"):
        built("augmix", {"severity": 11})
    with pytest.raises(InvalidArgumentError, match="hparams 'jsd' must be true or false"):
        built("augmix", {"jsd": "yes"})
    with pytest.raises(InvalidArgumentError, match="jsd_weight.*must be >= 0"):
        built("augmix", {"jsd_weight": -1})


@pytest.mark.parametrize("name", JSD_METHODS)
def test_interrupted_run_resumes_exactly(tmp_path, bundle, monkeypatch, name):
    straight = train(cfg_for(tmp_path, "straight", method=name), data=bundle)
    cls = METHODS.get(name)
    calls = {"n": 0}
    original = cls.update

    def crash_after_five(self, batch):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt("killed")
        return original(self, batch)

    monkeypatch.setattr(cls, "update", crash_after_five)
    with pytest.raises(KeyboardInterrupt):
        train(cfg_for(tmp_path, "resumed", method=name), data=bundle)
    monkeypatch.undo()
    resumed = train(cfg_for(tmp_path, "resumed", method=name), data=bundle)
    a, b = weights(straight.output_dir), weights(resumed.output_dir)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.final["loss"] == straight.final["loss"] and resumed.final["jsd"] == straight.final["jsd"]


@pytest.mark.parametrize("name", JSD_METHODS)
def test_train_cli_runs_the_method_on_the_builtin_benchmark(tmp_path, capsys, name):
    from stylebias.cli import main

    args = ["train", "--method", name, "--steps", "3", "--batch-size", "8",
            "--data", "shapes:n_per_class=2,val_per_class=1,test_per_class=2,cue_per_class=1",
            "--output-dir", str(tmp_path / "run"), "--no-progress",
            "--hparams", '{"model_width": 4}', "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["final"]["step"] == 3 and summary["final"]["jsd"] >= 0
    assert json.loads((tmp_path / "run" / "hparams.json").read_text())["jsd_weight"] == 12.0


def heldout_jsd(model, x, augment, draws=4):
    """Mean JSD between the clean image and two fresh views, over a few seeded draws."""
    model.eval()
    values = []
    with torch.no_grad():
        for seed in range(draws):
            g = torch.Generator().manual_seed(100 + seed)
            views = [augment(x, g), augment(x, g)]
            values.append(jensen_shannon(model(x), model(views[0]), model(views[1])).item())
    return sum(values) / draws


def consistency_effect(tmp_path, name, augment, seed=0, steps=40, batch_size=24):
    """The network trained with the consistency term (weight 12) and without it (weight 0, the
    term still logged) on the built-in benchmark: JSD between clean and augmented predictions."""
    data = "shapes:n_per_class=8,val_per_class=2,test_per_class=2,cue_per_class=1"
    out = {}
    for weight in (12.0, 0.0):
        cfg = load_config(method=name, data=data, seed=seed, steps=steps, batch_size=batch_size, image_size=16, checkpoint_every=steps,
                          corruption_severities=[], output_dir=tmp_path / f"w{weight}", progress=False,
                          hparams={"model_width": 8, "jsd_weight": weight, "lr": 0.1})
        result = train(cfg)
        from stylebias.training.datasets import build_data

        x = torch.stack([build_data(cfg).val[i][0] for i in range(24)])
        out[weight] = heldout_jsd(result.model, x, augment)
    return out


def test_the_consistency_term_lowers_the_jsd_on_the_builtin_benchmark(tmp_path):
    jsd = consistency_effect(tmp_path, "augmix", lambda x, g: augment_and_mix(x, generator=g))
    assert jsd[12.0] < 0.6 * jsd[0.0], jsd  # seeds 0-3 measured: ratio 0.36-0.43


def test_list_methods_names_the_image_level_methods(capsys):
    from stylebias.cli import main

    assert main(["list", "methods", "--json"]) == 0
    rows = {r["name"]: r["summary"] for r in json.loads(capsys.readouterr().out)}
    assert rows["augmix"] == "AugMix with the Jensen-Shannon consistency loss."
    assert rows["prime"] == "PRIME with the Jensen-Shannon consistency loss."
