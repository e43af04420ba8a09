"""The model-vs-human figures are drawn from the results, with humans as the reference."""

import pytest

from stylebias.errors import DataError
from stylebias.humanlike import evaluate_dataset, read_decisions, summarize
from stylebias.humanlike.benchmark import HUMANS
from stylebias.humanlike.figures import plot_condition_accuracy, plot_cue_conflict, plot_error_consistency
from tests.humanlike.generate import MODELS, write_dataset

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    root = tmp_path_factory.mktemp("raw")
    for k, name in enumerate(("uniform-noise", "low-pass", "cue-conflict")):
        write_dataset(root, name, seed=k, per_condition=8 if name != "cue-conflict" else 32)
    tables = {name: read_decisions(root / name) for name in ("uniform-noise", "low-pass", "cue-conflict")}
    return tables, [evaluate_dataset(t) for t in tables.values()]


def _lines(fig_axes):
    return {line.get_label(): line for line in fig_axes.get_lines()}


def test_condition_panels_draw_each_model_and_the_humans_per_condition(evaluated, tmp_path, monkeypatch):
    tables, results = evaluated
    drawn = {}
    import stylebias.humanlike.figures as figures

    monkeypatch.setattr(figures, "save_figure", lambda fig, path, dpi: drawn.setdefault("fig", fig) and path)
    plot_condition_accuracy(results, tmp_path / "acc.png")
    axes = [ax for ax in drawn["fig"].axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == ["uniform-noise", "low-pass"]  # cue-conflict has no conditions
    noise = next(r for r in results if "model_good" in r and r["model_good"].dataset == "uniform-noise")
    lines = _lines(axes[0])
    assert set(lines) >= {"humans", *MODELS} and lines["humans"].get_linestyle() == "--"
    ticks = [t.get_text() for t in axes[0].get_xticklabels()]
    expected = [noise["model_good"].conditions[c].accuracy for c in ticks]
    assert list(lines["model_good"].get_ydata()) == pytest.approx(expected)
    assert list(lines["humans"].get_ydata()) == pytest.approx([noise[HUMANS].conditions[c].accuracy for c in ticks])


def test_error_consistency_bars_and_cue_conflict_plot_are_written(evaluated, tmp_path):
    tables, results = evaluated
    summaries = summarize(results)
    path = plot_error_consistency(summaries, tmp_path / "ec.png")
    assert path.stat().st_size > 1000
    assert plot_cue_conflict(tables["cue-conflict"], tmp_path / "cc.png").stat().st_size > 1000
    with pytest.raises(DataError, match="no parametric dataset"):
        plot_condition_accuracy([results[2]], tmp_path / "none.png")
