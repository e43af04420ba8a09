"""Offline tests of stylebias.hub: file:// URLs to temp files and monkeypatched urlopen."""

from __future__ import annotations

import hashlib
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from stylebias.cli import main
from stylebias.errors import IntegrityError, InvalidArgumentError, MissingFileError, UnknownNameError
from stylebias.hub import (
    ARTIFACTS,
    Artifact,
    ArtifactSet,
    download_set,
    fetch,
    get_artifact_set,
    artifact_path,
    cache_dir,
    download,
    get_artifact,
    list_artifacts,
    sha256_file,
)

PAYLOAD = b"stylebias test payload\n" * 1000


def _source(tmp_path: Path, data: bytes = PAYLOAD, name: str = "weights.pth") -> Path:
    src = tmp_path / "remote" / name
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_bytes(data)
    return src


def _artifact(src: Path, data: bytes = PAYLOAD, **kw) -> Artifact:
    kw.setdefault("size", len(data))
    return Artifact("test-weights", src.as_uri(), hashlib.sha256(data).hexdigest(), **kw)


@pytest.fixture
def registered(monkeypatch):
    """Register artifacts for one test only (the global registry is restored afterwards)."""
    monkeypatch.setattr(ARTIFACTS, "_items", dict(ARTIFACTS._items))
    monkeypatch.setattr(ARTIFACTS, "_keys", dict(ARTIFACTS._keys))
    return lambda art: ARTIFACTS.register(art.name, art)


def test_sha256_file_matches_hashlib(tmp_path):
    src = _source(tmp_path)
    assert sha256_file(src, chunk_size=7) == hashlib.sha256(PAYLOAD).hexdigest()


def test_file_name_carries_hash_prefix():
    art = get_artifact("adain-decoder")
    assert art.file_name == "decoder-379ca41d.pth"
    assert get_artifact("adain-vgg").file_name == "vgg_normalised-804ca283.pth"
    assert Artifact("x", "https://h/a/stim.tar.gz", "ab" * 32).file_name == "stim-abababab.tar.gz"
    assert Artifact("x", "https://h/a/b.bin", "ab" * 32, filename="own.bin").file_name == "own.bin"


def test_adain_artifacts_registered_with_published_hashes():
    assert {"adain-vgg", "adain-decoder"} <= set(list_artifacts())
    vgg = ARTIFACTS.get("vgg_normalised")
    assert vgg.size == 80_102_481
    assert vgg.sha256.startswith("804ca2835ecf")
    assert vgg.url.endswith("naoto0804/pytorch-AdaIN/releases/download/v0.0.0/vgg_normalised.pth")
    dec = ARTIFACTS.get("decoder")
    assert dec.size == 14_023_458 and dec.sha256.endswith("aa88f9472")


def test_artifact_is_frozen_and_validated():
    art = Artifact("x", "https://h/a.bin", "AB" * 32, meta={"k": 1})
    assert art.sha256 == "ab" * 32  # normalised to lower case
    with pytest.raises(AttributeError):
        art.url = "https://elsewhere"  # type: ignore[misc]
    with pytest.raises(TypeError):
        art.meta["k"] = 2  # type: ignore[index]
    with pytest.raises(InvalidArgumentError, match="64 hex digits"):
        Artifact("x", "https://h/a.bin", "abc")
    with pytest.raises(InvalidArgumentError, match="size"):
        Artifact("x", "https://h/a.bin", "ab" * 32, size=-1)


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("STYLEBIAS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert cache_dir() == tmp_path / "home"
    monkeypatch.delenv("STYLEBIAS_HOME")
    assert cache_dir() == tmp_path / "xdg" / "stylebias"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert cache_dir() == tmp_path / "user" / ".cache" / "stylebias"


def test_download_fetches_verifies_and_is_idempotent(tmp_path, monkeypatch):
    src = _source(tmp_path)
    art = _artifact(src)
    cache = tmp_path / "cache"
    path = download(art, cache, progress=False)
    assert path == cache / art.file_name == artifact_path(art, cache)
    assert path.read_bytes() == PAYLOAD
    assert not list(cache.glob("*.partial"))

    def no_network(*a, **k):
        raise AssertionError("a verified cached file must not be downloaded again")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    assert download(art, cache, progress=True) == path
    assert download(art, cache, download=False) == path


def test_download_uses_env_cache(tmp_path, monkeypatch):
    src = _source(tmp_path)
    monkeypatch.setenv("STYLEBIAS_HOME", str(tmp_path / "envcache"))
    path = download(_artifact(src), progress=False)
    assert path.parent == tmp_path / "envcache"


def test_wrong_hash_raises_integrity_error_and_leaves_nothing(tmp_path):
    src = _source(tmp_path)
    wrong = "0" * 64
    art = Artifact("bad", src.as_uri(), wrong)
    cache = tmp_path / "cache"
    with pytest.raises(IntegrityError) as info:
        download(art, cache, progress=False)
    msg = str(info.value)
    assert wrong in msg and hashlib.sha256(PAYLOAD).hexdigest() in msg
    assert str(cache) in msg and "by hand" in msg
    assert not any(cache.iterdir())  # neither the target nor the .partial file is left


def test_wrong_size_is_rejected(tmp_path):
    src = _source(tmp_path)
    art = _artifact(src, size=len(PAYLOAD) + 1)
    with pytest.raises(IntegrityError, match="size"):
        download(art, tmp_path / "cache", progress=False)


def test_missing_file_without_download(tmp_path):
    art = _artifact(tmp_path / "nowhere.pth")
    with pytest.raises(MissingFileError) as info:
        download(art, tmp_path / "cache", download=False)
    msg = str(info.value)
    assert str(tmp_path / "cache" / art.file_name) in msg and art.url in msg
    assert isinstance(info.value, FileNotFoundError)


def test_no_network_says_url_and_where_to_put_the_file(tmp_path, monkeypatch):
    art = Artifact("remote", "https://example.invalid/w.pth", hashlib.sha256(PAYLOAD).hexdigest())

    def offline(*a, **k):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(MissingFileError) as info:
        download(art, tmp_path / "cache", progress=False)
    msg = str(info.value)
    assert "https://example.invalid/w.pth" in msg
    assert str(tmp_path / "cache" / art.file_name) in msg
    assert "no route to host" in msg
    assert not list((tmp_path / "cache").glob("*.partial"))


def test_corrupt_cached_file_is_redownloaded_or_reported(tmp_path):
    src = _source(tmp_path)
    art = _artifact(src)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / art.file_name).write_bytes(b"x" * len(PAYLOAD))  # right size, wrong content
    with pytest.raises(IntegrityError, match="corrupt"):
        download(art, cache, download=False)
    path = download(art, cache, progress=False)
    assert path.read_bytes() == PAYLOAD


def test_unknown_artifact_name_suggests():
    with pytest.raises(UnknownNameError, match="adain-decoder"):
        download("adain-decodr", download=False)


def test_cli_download_and_list(tmp_path, capsys, registered):
    src = _source(tmp_path)
    art = registered(_artifact(src))
    assert main(["download", "test-weights", "--cache-dir", str(tmp_path / "c"), "--no-progress"]) == 0
    assert (tmp_path / "c" / art.file_name).read_bytes() == PAYLOAD
    assert main(["list", "artifacts"]) == 0
    out = capsys.readouterr().out
    assert "adain-decoder" in out and "decoder-379ca41d.pth" in out


def test_cli_download_offline_error_exit_code(tmp_path, capsys, registered):
    # A file:// URL to a missing file fails like a network error: exit code 2, message on stderr.
    registered(_artifact(tmp_path / "absent.pth"))
    assert main(["download", "test-weights", "--cache-dir", str(tmp_path / "c")]) == 2
    assert "could not download" in capsys.readouterr().err


# ----------------------------------------------------------------------------- artifact sets
def _make_set(tmp_path, files: dict[str, bytes]) -> ArtifactSet:
    remote = tmp_path / "remote"
    lines = ["# test manifest"]
    for rel, data in files.items():
        path = remote / "stimuli" / "demo" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        lines.append(f"stimuli/demo/{rel}\t{len(data)}\t{hashlib.sha256(data).hexdigest()}")
    lines.append(f"stimuli/other/x.png\t1\t{'0' * 64}")  # outside the prefix: not part of the set
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text("\n".join(lines) + "\n")
    return ArtifactSet("demo-set", remote.as_uri(), str(manifest), prefix="stimuli/demo/",
                       folder="demo-v1")


def test_download_set_keeps_layout_and_is_idempotent(tmp_path, monkeypatch):
    files = {"cat/cat1-dog2.png": b"a" * 10, "dog/dog1-cat1.png": b"b" * 20}
    aset = _make_set(tmp_path, files)
    assert [rel for rel, _ in aset.files()] == list(files)
    root = download_set(aset, tmp_path / "cache", progress=False)
    assert root == tmp_path / "cache" / "demo-v1"
    for rel, data in files.items():
        assert (root / rel).read_bytes() == data
    assert (root / ".verified").is_file()

    def no_network(*a, **k):
        raise AssertionError("no download expected")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    assert download_set(aset, tmp_path / "cache", download=False) == root
    # A file damaged after verification (same size) is caught once the stamp no longer holds.
    (root / ".verified").unlink()
    (root / "cat/cat1-dog2.png").write_bytes(b"x" * 10)
    with pytest.raises(MissingFileError, match="1 of 2 files.*cat/cat1-dog2.png"):
        download_set(aset, tmp_path / "cache", download=False)


def test_download_set_refetches_missing_files(tmp_path):
    aset = _make_set(tmp_path, {"a/a1-b1.png": b"1", "b/b1-a1.png": b"22"})
    root = download_set(aset, tmp_path / "cache", progress=True, workers=2)
    (root / "b/b1-a1.png").unlink()
    assert download_set(aset, tmp_path / "cache", progress=False) == root
    assert (root / "b/b1-a1.png").read_bytes() == b"22"


def test_fetch_by_name(tmp_path, registered):
    src = _source(tmp_path)
    registered(_artifact(src))
    assert fetch("test-weights", tmp_path / "c", progress=False).read_bytes() == PAYLOAD
    with pytest.raises(UnknownNameError, match="cue-conflict"):
        fetch("no-such-thing", tmp_path / "c")


def test_registered_stimulus_sets_match_the_published_layout():
    cue = get_artifact_set("cue-conflict")
    files = cue.files()
    assert len(files) == 1280
    folders = {rel.split("/")[0] for rel, _ in files}
    assert len(folders) == 16 and "knife" in folders
    assert all(rel.split("/")[1].startswith(rel.split("/")[0]) for rel, _ in files)
    rel, art = files[0]
    assert art.url == f"{cue.base_url}/stimuli/style-transfer-preprocessed-512/{rel}"
    assert "rgeirhos/texture-vs-shape/ccd0c01d42c0a8a834e90ec141e7f24fa915dc23" in art.url
    assert art.file_name == rel.split("/")[1]  # the exact published name, no hash prefix
    assert len(get_artifact_set("silhouettes").files()) == 160
    assert len(get_artifact_set("edges").files()) == 160
    assert get_artifact_set("filled-silhouettes") is get_artifact_set("silhouettes")


def test_download_set_stops_at_first_failure(tmp_path, monkeypatch):
    aset = _make_set(tmp_path, {f"c/c{i}-d1.png": bytes([i]) for i in range(40)})
    calls = []

    def offline(*a, **k):
        calls.append(1)
        time.sleep(0.05)  # like a failing connection attempt
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(MissingFileError, match="offline"):
        download_set(aset, tmp_path / "cache", progress=False, workers=2)
    assert len(calls) <= 10  # the remaining downloads were cancelled, not all 40 tried


def test_manual_artifact_without_hash(tmp_path, monkeypatch):
    with pytest.raises(InvalidArgumentError, match="sha256 is required"):
        Artifact("x", "https://h/a.bin", None)
    with pytest.raises(InvalidArgumentError, match="sha256 is required"):
        Artifact("x", "https://h/a.bin", None, manual=True)  # no file name to keep it under
    art = Artifact("x", "https://h/page", None, size=3, filename="x.pth", manual=True,
                   meta={"how": "click the big button"})  # fmt: skip

    def no_network(*args, **kwargs):
        raise AssertionError("a manual artifact must never be fetched")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(MissingFileError, match="click the big button.*x.pth"):
        download(art, tmp_path)
    (tmp_path / "x.pth").write_bytes(b"abcd")
    with pytest.raises(IntegrityError, match="4 bytes, expected 3"):
        download(art, tmp_path)
    (tmp_path / "x.pth").write_bytes(b"abc")
    assert download(art, tmp_path) == tmp_path / "x.pth"


def test_unpublished_hash_is_recorded_on_first_download_and_checked_after(tmp_path):
    with pytest.raises(InvalidArgumentError, match="sha256 is required"):
        Artifact("x", "https://h/a.tar.gz", None, record_sha256=True)  # no file name to keep it under
    src = _source(tmp_path, name="colour.tar.gz")
    art = Artifact("release", src.as_uri(), None, filename="colour.tar.gz", record_sha256=True)
    cache = tmp_path / "cache"
    path = download(art, cache, progress=False)
    record = cache / "colour.tar.gz.sha256"
    assert record.read_text().split()[0] == hashlib.sha256(PAYLOAD).hexdigest()
    path.write_bytes(b"tampered")
    with pytest.raises(IntegrityError, match="recorded on first download"):
        download(art, cache, download=False)
    assert download(art, cache, progress=False).read_bytes() == PAYLOAD  # re-fetched, checked
    path.unlink()
    src.write_bytes(b"changed upstream")
    with pytest.raises(IntegrityError, match="delete .*colour.tar.gz.sha256 if you trust the new file"):
        download(art, cache, progress=False)
    assert not path.exists() and not (cache / "colour.tar.gz.partial").exists()
    record.unlink()  # a file placed by hand is recorded on its first use
    path.write_bytes(b"by hand")
    assert download(art, cache, download=False) == path
    assert record.read_text().split()[0] == hashlib.sha256(b"by hand").hexdigest()
    record.write_text("not a hash\n")
    with pytest.raises(IntegrityError, match="does not hold a sha256"):
        download(art, cache, download=False)
