"""Training with on-the-fly style augmentation (TrainConfig.style_augment)."""

import torch

from stylebias.training import load_config, train
from tests.training.conftest import tiny_bundle


def test_training_with_style_augment_resumes_exactly(tmp_path, weight_files, folders, monkeypatch):
    vgg, decoder = weight_files
    seen = []

    def cfg(name):
        return load_config(
            steps=4, batch_size=8, checkpoint_every=2, output_dir=tmp_path / name, progress=False,
            style_augment=str(folders["style"]), style_augment_fraction=1.0,
            stylizer_vgg=str(vgg), stylizer_decoder=str(decoder), hparams={"model_width": 4},
        )

    import stylebias.training.methods as methods

    original = methods.ERM.update

    def spy(self, batch):
        seen.append(batch[0].clone())
        return original(self, batch)

    monkeypatch.setattr(methods.ERM, "update", spy)
    bundle = tiny_bundle(n=32, size=16)
    straight = train(cfg("straight"), data=bundle)
    clean_first = torch.stack([bundle.train[i][0] for i in range(len(bundle.train))])
    # every training image was stylized (fraction 1.0): none is an original image
    assert all(not any(torch.equal(img, c) for c in clean_first) for img in seen[0])
    state = torch.load(straight.output_dir / "checkpoint.pt", weights_only=True)
    assert "layer_generator" in state  # the stylization draws from the checkpointed method generator

    # stop after step 2 (the checkpoint), resume, and land on the same weights
    calls = {"n": 0}

    def crash(self, batch):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, batch)

    monkeypatch.setattr(methods.ERM, "update", crash)
    try:
        train(cfg("resumed"), data=bundle)
    except KeyboardInterrupt:
        pass
    monkeypatch.setattr(methods.ERM, "update", original)
    resumed = train(cfg("resumed"), data=bundle)
    a = torch.load(straight.output_dir / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(resumed.output_dir / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
