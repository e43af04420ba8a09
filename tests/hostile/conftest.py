"""Fixtures of the hostile-corpus tests: tiny random-weight models as spec files, AdaIN weights,
good images, a watchdog against hangs, and a runner that counts what each command did."""

from __future__ import annotations

import collections
import logging
import signal
import textwrap
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from stylebias.cli import main
from stylebias.errors import DataWarning

MODELS = textwrap.dedent('''
    import torch
    from torch import nn

    def _conv_head(outputs):
        torch.manual_seed(0)
        return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                             nn.Flatten(), nn.Linear(4, outputs))

    def imagenet():  # 1000 logits with a conv stage (shape-bias)
        return _conv_head(1000)

    def imagenet_32px():  # the same, fed 32-px crops (explain has no resize flags)
        from stylebias.models import LoadedModel, ModelSpec, Normalized, Preprocess

        pre = Preprocess(resize=32, crop=32)
        return LoadedModel(Normalized(imagenet(), pre.mean, pre.std), pre, ModelSpec("object", "tiny", None, "tiny"))

    def two_classes():  # robustness on <class>/<file> folders of classes 0 and 1
        return _conv_head(2)

    class MeanColour(nn.Module):  # re-id features
        def forward(self, x):
            return x.mean(dim=(2, 3))

    def features():
        return MeanColour()
''')


@pytest.fixture
def model_file(tmp_path) -> Path:
    path = tmp_path / "tiny_models.py"
    path.write_text(MODELS)
    return path


@pytest.fixture(scope="session")
def adain_weights(tmp_path_factory) -> tuple[Path, Path]:
    """Random ``vgg_normalised.pth``/``decoder.pth`` in the published layout."""
    from stylebias.stylize.network import build_decoder, build_vgg

    root = tmp_path_factory.mktemp("adain")
    torch.manual_seed(0)
    torch.save(build_vgg().state_dict(), root / "vgg_normalised.pth")
    torch.save(build_decoder().state_dict(), root / "decoder.pth")
    return root / "vgg_normalised.pth", root / "decoder.pth"


def write_good(folder: Path, stems: list[str], seed: int = 1) -> list[Path]:
    """Plain 20 x 24 RGB PNGs, one per stem."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem in stems:
        path = folder / f"{stem}.png"
        Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


class Hung(BaseException):
    """Raised by the watchdog; not an ``Exception``, so no ``except`` in the code under test
    (``except OSError`` would take a TimeoutError) can turn it into a clean error."""


@pytest.fixture(autouse=True)
def _watchdog():
    """Fail instead of hanging (a FIFO opened for reading blocks until a writer appears)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def expire(*_):
        raise Hung("a hostile-corpus test ran for over 120 s: something blocked")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(120)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Run:
    code: int | None
    out: str
    err: str
    log: str
    warned: list[str]
    traceback: str | None

    @property
    def text(self) -> str:
        """Everything the user sees besides the JSON: stderr, log records and warnings."""
        return "\n".join([self.err, self.log, *self.warned])


@dataclass
class Tally:
    """Counts the lead can quote: what the corpus did to one command."""

    command: str
    counts: collections.Counter = field(default_factory=collections.Counter)

    def report(self) -> str:
        c = self.counts
        return (f"hostile corpus | {self.command}: {c['inputs']} inputs tried in {c['runs']} runs; "
                f"{c['clean errors']} clean errors, {c['skipped']} skipped and named, {c['processed']} "
                f"processed, {c['tracebacks']} tracebacks")


@pytest.fixture
def emit(capsys, record_property):
    """``emit(tally)``: print the tally's counts past the capture (seen with ``pytest -s``,
    or in the junit XML as a property)."""

    def show(tally: Tally) -> None:
        record_property(f"hostile_{tally.command}", dict(tally.counts))
        with capsys.disabled():
            print("\n" + tally.report(), flush=True)

    return show


@pytest.fixture
def cli(capsys, caplog):
    """``cli(argv) -> Run``: the command in-process, with its exit code, output, log records
    (WARNING and up) and DataWarnings; an exception escaping ``main`` is kept, not raised."""

    def run(argv: list[str]) -> Run:
        capsys.readouterr()
        caplog.clear()
        error = None
        with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
            warnings.simplefilter("always", DataWarning)
            try:
                code = main([str(a) for a in argv])
            except Exception:  # noqa: BLE001 - counted as a traceback by the tests
                code, error = None, traceback.format_exc()
        captured = capsys.readouterr()
        warned = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
        return Run(code, captured.out, captured.err, caplog.text, warned, error)

    return run
