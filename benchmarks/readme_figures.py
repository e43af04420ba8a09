"""The README's explain and probe figures, made from models trained here on the built-in benchmark.

No pretrained weights can be downloaded on the machines this project is built on, so the figures
compare two SmallResNets trained on the ShapeTexture benchmark: one on images whose texture
follows the class (texture correlation 1.0: texture is a perfect shortcut, as on ImageNet) and
one on images with random textures (correlation 0.0: only shape predicts the class). Run::

    python benchmarks/readme_figures.py --output-dir docs/figures [--steps 300]

It writes ``explain.png`` (Grad-CAM and IBA maps of both models on cue-conflict images, with
their decisions), ``style_reliance.png`` (``stylebias probe style``: how often the decision
follows the statistics donor when the AdaIN statistics of each stage are swapped) and the runs
under ``<output-dir>/runs``. About 3 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from stylebias.attribution import attribute_files
from stylebias.models import LoadedModel, Preprocess
from stylebias.models.spec import ModelSpec
from stylebias.plotting import pyplot, save_figure
from stylebias.probe import probe_style_reliance
from stylebias.training import load_config, train
from stylebias.training.datasets import build_data
from stylebias.training.nets import small_resnet

SETTINGS = {"texture-biased (texture corr. 1.0)": 1.0, "shape-trained (random textures)": 0.0}


def _train(correlation: float, steps: int, out: Path) -> torch.nn.Module:
    cfg = load_config(data=f"shapes:texture_correlation={correlation}", steps=steps, batch_size=32,
                      checkpoint_every=steps, output_dir=out, progress=False, corruption_severities=[])
    result = train(cfg)
    print(f"texture correlation {correlation}: shape bias {result.final.get('shape_bias', float('nan')):.2f}, "
          f"val acc {result.final['val_acc']:.2f}, sketch acc {result.final['test_acc']:.2f}", flush=True)
    net = small_resnet(num_classes=10)
    net.load_state_dict(torch.load(out / "checkpoint.pt", weights_only=True)["model"])
    return net.eval()


def _cue_conflict_files(out: Path, count: int) -> tuple[list[Path], torch.Tensor, list[str]]:
    data = build_data(load_config(data="shapes:texture_correlation=1.0"))
    images, shapes, textures = data.cue_conflict.tensors
    names = data.class_names or [str(i) for i in range(10)]
    picks = [i for i in range(len(shapes)) if shapes[i] != textures[i]][:count]
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for k, i in enumerate(picks):
        path = out / f"{k}_{names[shapes[i]]}-shape_{names[textures[i]]}-texture.png"
        Image.fromarray((images[i].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(path)
        files.append(path)
    stats = out.parent / "stats-images"  # IBA's feature statistics: clean training-domain images
    stats.mkdir(parents=True, exist_ok=True)
    for i in range(64):
        image = data.val[i][0]
        Image.fromarray((image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(stats / f"{i}.png")
    return files, images[: 256], names


def _explain_figure(models: dict[str, torch.nn.Module], files: list[Path], names: list[str], out: Path) -> Path:
    identity = Preprocess(resize=None, crop=None, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    loaded = [LoadedModel(net, identity, ModelSpec("object", label, None, label)) for label, net in models.items()]
    stats = sorted((out / "stats-images").glob("*.png"))
    records = attribute_files(loaded, files, out / "maps", methods=["gradcam", "iba"], layer="layer2",
                              stats_images=stats, faithfulness=False, seed=0)
    plt = pyplot()
    columns = 1 + 2 * len(models)
    fig, axes = plt.subplots(len(files), columns, figsize=(1.7 * columns, 1.8 * len(files)), squeeze=False)
    for r, path in enumerate(files):
        image = np.asarray(Image.open(path))
        axes[r][0].imshow(image, interpolation="nearest")
        axes[r][0].set_title(path.stem.split("_", 1)[1].replace("_", "\n"), fontsize=6)
        c = 1
        for label in models:
            for method in ("gradcam", "iba"):
                rec = next(x for x in records if x["image"] == str(path) and x["model"] == label and x["method"] == method)
                axes[r][c].imshow(image, interpolation="nearest")
                axes[r][c].imshow(np.load(rec["heatmap"]), cmap="jet", alpha=0.5, interpolation="bilinear")
                axes[r][c].set_title(f"{label.split(' ')[0]} {method}\n-> {names[rec['target']]}", fontsize=6)
                c += 1
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout()
    return save_figure(fig, out / "explain.png", dpi=130)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path("docs/figures"))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--images", type=int, default=4)
    args = parser.parse_args()
    torch.manual_seed(0)
    models = {label: _train(corr, args.steps, args.output_dir / "runs" / f"corr{corr}") for label, corr in SETTINGS.items()}
    files, batch, names = _cue_conflict_files(args.output_dir / "cue-conflict", args.images)
    print("wrote", _explain_figure(models, files, names, args.output_dir))
    probe_style_reliance(models, [batch[i:i + 64] for i in range(0, len(batch), 64)], args.output_dir / "probe")
    print("wrote", args.output_dir / "probe" / "style_reliance.png")


if __name__ == "__main__":
    main()
