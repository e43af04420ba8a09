"""Layouts of the 17 model-vs-human datasets: paths parsed and ordered as model-vs-human's
loaders do (info mappings re-expressed here, order from torchvision's ImageFolder itself)."""

from __future__ import annotations

import hashlib
import tarfile

import pytest
from PIL import Image
from torchvision.datasets import ImageFolder

from stylebias.errors import DataError, InvalidArgumentError
from stylebias.humanlike import (
    BENCHMARK_DATASETS,
    FOLDER_DATASETS,
    benchmark_dataset_dir,
    human_raw_data,
    list_benchmark_images,
    parse_image_path,
    resolve_datasets,
)
from stylebias.hub import get_artifact, get_artifact_set
from tests.humanlike.standins import write_standins


def info_mapping_with_sessions(full_path):
    """modelvshuman/datasets/info_mappings.py, InfoMappingWithSessions.__call__."""
    session_name = full_path.split("/")[-2]
    img_name = full_path.split("/")[-1]
    condition = img_name.split("_")[3]
    category = img_name.split("_")[4]
    return session_name, img_name, condition, category


def imagenet_info_mapping(full_path):
    """modelvshuman/datasets/info_mappings.py, ImageNetInfoMapping.__call__."""
    session_name = "session-1"
    img_name = full_path.split("/")[-1]
    condition = "NaN"
    category = full_path.split("/")[-2]
    return session_name, img_name, condition, category


@pytest.fixture(scope="module")
def standins(tmp_path_factory):
    return write_standins(tmp_path_factory.mktemp("mvh"), per_condition=2, size=8)


def test_the_two_layouts_cover_the_17_datasets():
    assert set(FOLDER_DATASETS) == {"edge", "silhouette", "cue-conflict"}
    assert len(BENCHMARK_DATASETS) == 17
    assert resolve_datasets("all") == list(BENCHMARK_DATASETS) == resolve_datasets(["all"])
    assert resolve_datasets(["sketch", "edge", "sketch"]) == ["sketch", "edge"]
    with pytest.raises(InvalidArgumentError, match="'eidolonl'.*did you mean 'eidolonI'"):
        resolve_datasets(["eidolonl"])


@pytest.mark.parametrize("dataset", BENCHMARK_DATASETS)
def test_images_are_parsed_and_ordered_as_model_vs_human(standins, dataset):
    data, _ = standins
    folder = data / dataset
    images = list_benchmark_images(folder, dataset)
    # model-vs-human: ImageFolder over <dataset>/dnn/ (sessions) or <dataset>/ (category folders)
    reference = ImageFolder(str(folder / "dnn" if dataset not in FOLDER_DATASETS else folder))
    assert [str(i.path) for i in images] == [path for path, _ in reference.imgs]
    mapping = imagenet_info_mapping if dataset in FOLDER_DATASETS else info_mapping_with_sessions
    for image in images:
        assert (image.session, image.imagename, image.condition, image.category) == mapping(str(image.path))


def test_condition_and_category_from_the_name():
    image = parse_image_path("d/uniform-noise/dnn/session-1/0007_nse_dnn_0.35_knife_10_n03041632_7.png",
                             "uniform-noise")
    assert (image.condition, image.category, image.session) == ("0.35", "knife", "session-1")
    image = parse_image_path("d/cue-conflict/cat/cat2-elephant1.png", "cue-conflict")
    assert (image.condition, image.category) == ("NaN", "cat")


def test_layout_errors_name_the_files_and_the_expected_layout(tmp_path):
    with pytest.raises(DataError, match=r"dnn does not exist.*dnn/session-1/<trial>_<abbr>_dnn_<condition>"):
        list_benchmark_images(tmp_path / "colour", "colour")
    (tmp_path / "colour" / "dnn" / "session-1").mkdir(parents=True)
    stray = tmp_path / "colour" / "dnn" / "stray.png"
    Image.new("RGB", (4, 4)).save(stray)
    with pytest.raises(DataError, match="not where model-vs-human looks.*stray.png"):
        list_benchmark_images(tmp_path / "colour", "colour")
    stray.rename(tmp_path / "colour" / "dnn" / "session-1" / "0001_cl_dnn_cr_dgo_40_x.png")
    with pytest.raises(DataError, match="category 'dgo'.*5th"):
        list_benchmark_images(tmp_path / "colour", "colour")
    with pytest.raises(DataError, match="--data DIR"):
        benchmark_dataset_dir("sketch", tmp_path)


def test_artifacts_of_the_archives_and_the_pinned_human_data(standins):
    _, raw = standins
    for name in BENCHMARK_DATASETS:
        art = get_artifact(f"model-vs-human-{name}")
        assert art.url == f"https://github.com/bethgelab/model-vs-human/releases/download/v0.1/{name}.tar.gz"
        assert art.sha256 is None and art.record_sha256  # no published hash: recorded on first download
    files = get_artifact_set("model-vs-human-raw-data").files()
    by_dataset = {rel.split("/")[0] for rel, _ in files}
    assert by_dataset == set(BENCHMARK_DATASETS) and len(files) == 90
    assert all(art.sha256 and "79ed7cd1d9ac3a114e71b6638f0a98bdd627316c/raw-data/" in art.url for _, art in files)
    assert [p.name for p in human_raw_data("edge", raw)] == ["edge_subject-01_session_1.csv", "edge_subject-02_session_1.csv"]
    with pytest.raises(DataError, match="no human raw-data files"):
        human_raw_data("edge", raw / "edge")


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, source in members:
            tar.add(source, arcname=name)


def test_a_release_archive_in_the_cache_is_recorded_and_unpacked_once(standins, tmp_path):
    data, _ = standins
    cache = tmp_path / "cache"
    cache.mkdir()
    archive = cache / "model-vs-human-v0.1-edge.tar.gz"
    _tar(archive, [("edge", data / "edge")])
    folder = benchmark_dataset_dir("edge", cache_dir=cache, download_missing=False)  # placed by hand: no network
    assert folder == cache / "model-vs-human-v0.1" / "edge"
    assert len(list_benchmark_images(folder, "edge")) == len(list_benchmark_images(data / "edge", "edge"))
    assert (cache / "model-vs-human-v0.1-edge.tar.gz.sha256").read_text().split()[0] == hashlib.sha256(
        archive.read_bytes()).hexdigest()
    assert [p.name for p in (cache / "model-vs-human-v0.1").iterdir()] == ["edge"]  # no temporary folder left
    archive.unlink()
    assert benchmark_dataset_dir("edge", cache_dir=cache, download_missing=False) == folder  # unpacked once

    wrong = cache / "model-vs-human-v0.1-sketch.tar.gz"
    _tar(wrong, [("drawings", data / "sketch")])
    with pytest.raises(DataError, match=r"holds \['drawings'\], not the folder sketch/.*--data DIR"):
        benchmark_dataset_dir("sketch", cache_dir=cache, download_missing=False)
    evil = cache / "model-vs-human-v0.1-rotation.tar.gz"
    _tar(evil, [("../outside.png", next((data / "edge").rglob("*.png")))])
    with pytest.raises(DataError, match="cannot be unpacked"):
        benchmark_dataset_dir("rotation", cache_dir=cache, download_missing=False)
    assert not (cache / "outside.png").exists()
