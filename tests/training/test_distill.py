import copy
import json

import pytest
import torch
import torch.nn.functional as F

from stylebias.cli import main
from stylebias.errors import DataError, InvalidArgumentError, MissingFileError, UnknownNameError
from stylebias.layers import style_layers
from stylebias.models import build_classifier, penultimate_features
from stylebias.training import METHODS, create_method, load_config, train
from stylebias.training.datasets import build_data
from stylebias.training.distill import RobustDistill, distillation_loss, fit_linear_probe
from stylebias.training.distortions import distort
from stylebias.training.hparams import default_hparams
from tests.functional.test_contrastive import reference_simclr
from tests.models.test_clip_and_embedding import tiny_clip_arch  # noqa: F401  (fixture)
from tests.training.conftest import tiny_bundle
from tests.training.test_loop import cfg_for, weights


def network(seed=0, width=4, classes=3):
    torch.manual_seed(seed)
    return build_classifier("small_resnet", classes, width=width)


def method_for(net, seed=1, **hp):
    hparams = {**default_hparams("robust_distill"), **hp}
    method = RobustDistill(net, hparams, generator=torch.Generator().manual_seed(seed))
    method.configure_optimizer()
    return method.train()


def batch(seed=0, n=8, size=12):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g), torch.arange(n) % 3


def test_registered_with_the_papers_defaults():
    assert "robust_distill" in METHODS
    hp = default_hparams("robust_distill")
    assert (hp["distill_loss"], hp["temperature"], hp["optimizer"], hp["lr"]) == ("nt_xent", 0.1, "adam", 3e-4)


def test_student_starts_as_the_teacher_and_the_teacher_stays_frozen():
    method = method_for(network())
    teacher_start = copy.deepcopy(method.teacher.state_dict())
    student = method.model.state_dict()
    assert all(torch.equal(student[k], teacher_start[k]) for k in teacher_start)
    assert not any(p.requires_grad for p in method.teacher.parameters())
    for step in range(3):
        method.update(batch(step))
    assert not method.teacher.training  # method.train() leaves the teacher in eval mode
    after = method.teacher.state_dict()
    assert all(torch.equal(after[k], teacher_start[k]) for k in teacher_start)  # BN statistics too
    assert all(p.grad is None for p in method.teacher.parameters())
    changed = [k for k, v in method.model.state_dict().items() if not torch.equal(v, teacher_start[k])]
    assert any("weight" in k for k in changed)
    # the student's head is frozen: it stays the teacher's
    assert torch.equal(method.student_head.weight, method.teacher_head.weight)
    assert method.student_head.weight.grad is None


def test_first_loss_equals_an_independent_computation():
    net = network()
    as_student, as_teacher = copy.deepcopy(net).train(), copy.deepcopy(net).eval()
    method = method_for(net, seed=5)
    x, y = batch()
    g = torch.Generator().manual_seed(5)  # replay the method's draws: the distortion, then its noise
    name = ["mask", "noise", "blur"][int(torch.randint(3, (1,), generator=g))]
    distorted = distort(x, name, 3, g)
    with torch.no_grad():
        target = penultimate_features(as_teacher, x)[0]
        student = penultimate_features(as_student, distorted)[0]  # train mode: batch statistics
    logs = method.update((x, y))
    assert logs["loss"] == pytest.approx(reference_simclr(target, student, 0.1).item(), rel=1e-5)
    assert logs["cosine"] == pytest.approx(F.cosine_similarity(student, target).mean().item(), rel=1e-5)


def test_mse_loss_is_the_mean_squared_error_of_the_embeddings():
    s, t = torch.randn(4, 6), torch.randn(4, 6)
    assert distillation_loss(s, t, "mse").item() == pytest.approx(((s - t) ** 2).mean().item())
    method = method_for(network(), distill_loss="mse")
    assert method.update(batch())["loss"] > 0


def test_predict_is_the_teacher_head_on_the_students_features():
    method = method_for(network())
    for step in range(2):
        method.update(batch(step))
    method.eval()
    x = batch(9)[0]
    logits = method.predict(x)
    torch.testing.assert_close(logits, method.teacher_head(method.embed(x)))
    assert not torch.allclose(logits, method.teacher(x))  # the student's features differ by now
    # the other evaluation: a linear probe on the student's embeddings
    x, y = batch(10, n=12)
    probe = fit_linear_probe(method.embed(x), y, num_classes=3)
    assert probe(method.embed(x)).shape == (12, 3)
    assert method.embed_teacher(x).shape == method.embed(x).shape


def test_all_randomness_comes_from_the_generator():
    a, b = method_for(network(), seed=3), method_for(network(), seed=3)
    state = torch.get_rng_state()
    for step in range(2):
        la, lb = a.update(batch(step)), b.update(batch(step))
        assert la == lb
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG was not touched
    c = method_for(network(), seed=4)
    assert c.update(batch(0))["loss"] != method_for(network(), seed=3).update(batch(0))["loss"]


def test_without_a_generator_it_seeds_its_own():
    hp = default_hparams("robust_distill")
    one, two = RobustDistill(network(), hp), RobustDistill(network(), hp)
    torch.manual_seed(123)
    assert torch.equal(one.distort(batch()[0]), two.distort(batch()[0]))


def test_a_style_layer_attaches_to_the_student_only():
    hp = {**default_hparams("robust_distill"), "p": 1.0}
    method = RobustDistill(network(), hp, layer="mixstyle", generator=torch.Generator().manual_seed(0))
    method.configure_optimizer()
    assert style_layers(method.model) and not style_layers(method.teacher)
    assert method.update(batch())["loss"] > 0


@pytest.mark.parametrize("override, error, message", [
    ({"distill_loss": "kl"}, InvalidArgumentError, "distill_loss must be one of"),
    ({"temperature": 0.0}, InvalidArgumentError, "temperature must be a number > 0"),
    ({"temperature": "warm"}, InvalidArgumentError, "temperature must be a number > 0"),
    ({"severity": 6}, InvalidArgumentError, "severity must be an integer from 1 to 5"),
    ({"corruptions": ["mask", "snoww"]}, UnknownNameError, "did you mean 'snow'"),
])
def test_bad_hyperparameters_are_refused(override, error, message):
    with pytest.raises(error, match=f"(?i){message}"):
        method_for(network(), **override)


def test_a_network_without_a_classifier_head_is_refused():
    headless = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    with pytest.raises(InvalidArgumentError, match="no classifier head"):
        method_for(headless)


def test_teacher_checkpoint_files(tmp_path):
    trained = network(seed=7)
    torch.save(trained.state_dict(), tmp_path / "state.pt")
    torch.save({"step": 3, "model": trained.state_dict()}, tmp_path / "checkpoint.pt")  # a run's layout
    for name in ("state.pt", "checkpoint.pt"):
        method = method_for(network(seed=0), teacher_checkpoint=str(tmp_path / name))
        assert all(torch.equal(v, trained.state_dict()[k]) for k, v in method.teacher.state_dict().items())
        assert all(torch.equal(v, trained.state_dict()[k]) for k, v in method.model.state_dict().items())
    torch.save(network(width=8).state_dict(), tmp_path / "wide.pt")
    with pytest.raises(DataError, match="does not fit the model"):
        method_for(network(), teacher_checkpoint=str(tmp_path / "wide.pt"))
    torch.save(torch.nn.Linear(2, 2), tmp_path / "pickled.pt")  # a pickled module, not weights
    with pytest.raises(DataError, match="teacher checkpoint"):
        method_for(network(), teacher_checkpoint=str(tmp_path / "pickled.pt"))
    with pytest.raises(MissingFileError, match="missing.pt does not exist"):
        method_for(network(), teacher_checkpoint=str(tmp_path / "missing.pt"))


def test_interrupted_run_resumes_exactly(tmp_path, bundle, monkeypatch):
    straight = train(cfg_for(tmp_path, "straight", method="robust_distill"), data=bundle)
    calls = {"n": 0}
    original = RobustDistill.update

    def crash_after_five(self, batch):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt("killed")
        return original(self, batch)

    monkeypatch.setattr(RobustDistill, "update", crash_after_five)
    with pytest.raises(KeyboardInterrupt):
        train(cfg_for(tmp_path, "resumed", method="robust_distill"), data=bundle)
    monkeypatch.undo()
    resumed = train(cfg_for(tmp_path, "resumed", method="robust_distill"), data=bundle)
    a, b = weights(straight.output_dir), weights(resumed.output_dir)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.final["loss"] == straight.final["loss"]
    assert resumed.final["cosine"] == straight.final["cosine"]


SHAPES = "shapes:n_per_class=4,val_per_class=2,test_per_class=2,cue_per_class=1"


def test_cli_trains_robust_distill_on_the_builtin_benchmark(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["train", "--method", "robust_distill", "--steps", "3", "--data", SHAPES, "--batch-size", "8",
                 "--hparams", '{"model_width": 4, "corruptions": ["mask", "gaussian_noise"]}',
                 "--corruption-severities", "3", "--output-dir", str(out), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    assert json.loads((out / "hparams.json").read_text())["corruptions"] == ["mask", "gaussian_noise"]
    results = json.loads((out / "results.json").read_text())
    assert results["final"]["step"] == 3 and "cosine" in results["final"] and "val_acc" in results["final"]


@pytest.mark.slow
def test_students_embeddings_of_distorted_images_move_to_the_teachers_clean_ones(tmp_path):
    """The documented effect, on the built-in benchmark: a teacher trained by ERM, then a short
    distillation run from its checkpoint. On noisy held-out images the student's embeddings
    are closer (cosine) to the teacher's embeddings of the clean images than the teacher's own
    embeddings of the noisy ones are, and the NT-Xent between them is lower."""
    base = dict(data="shapes:n_per_class=8,val_per_class=4,test_per_class=2,cue_per_class=1", image_size=32,
                batch_size=32, steps=25, checkpoint_every=25, progress=False, corruption_severities=[])
    erm = load_config(**base, method="erm", output_dir=tmp_path / "teacher", hparams={"model_width": 4, "lr": 0.05})
    data = build_data(erm)
    teacher = train(erm, data=data).model.eval()
    cfg = load_config(**base, method="robust_distill", output_dir=tmp_path / "student",
                      hparams={"model_width": 4, "lr": 1e-3, "corruptions": ["noise"],
                               "teacher_checkpoint": str(tmp_path / "teacher" / "checkpoint.pt")})
    student = train(cfg, data=data).model.eval()
    x = torch.stack([data.val[i][0] for i in range(len(data.val))])
    noisy = distort(x, "noise", 3, torch.Generator().manual_seed(99))
    with torch.no_grad():
        clean_t = penultimate_features(teacher, x)[0]
        before = penultimate_features(teacher, noisy)[0]
        after = penultimate_features(student, noisy)[0]
    cos_before = F.cosine_similarity(before, clean_t).mean().item()
    cos_after = F.cosine_similarity(after, clean_t).mean().item()
    assert cos_after > cos_before + 0.05, (cos_before, cos_after)  # 0.71 -> 0.85 when written
    assert distillation_loss(after, clean_t) < distillation_loss(before, clean_t)


def test_an_open_clip_encoder_is_a_teacher_through_its_spec(tmp_path, tiny_clip_arch):  # noqa: F811
    cfg = cfg_for(tmp_path, method="robust_distill", model=f"open_clip:{tiny_clip_arch}", steps=2,
                  checkpoint_every=2, corruption_severities=[])
    result = train(cfg, data=tiny_bundle(n=32, size=32))
    student = result.model
    assert type(student).__name__ == "ImageEncoderClassifier"
    x = torch.rand(2, 3, 32, 32)
    assert penultimate_features(student.eval(), x)[0].shape == (2, 16)  # the CLIP image embedding
    assert result.final["step"] == 2 and "cosine" in result.final


def test_create_method_builds_it_by_name():
    method = create_method("robust_distill", network(), default_hparams("robust_distill"))
    assert isinstance(method, RobustDistill)
