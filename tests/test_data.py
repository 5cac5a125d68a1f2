"""Data loaders: IDX parsing, search order, SHA-256 checks, atomic downloads, offline errors.

All tests but one work on small IDX files written here in the real format; none downloads.
"""
import dataclasses
import gzip
import hashlib
import http.client
import io
import os
from pathlib import Path

import numpy as np
import pytest

from companion import set_language
from companion.data import vision as data

FILES = (data.TRAIN_IMAGES, data.TRAIN_LABELS, data.TEST_IMAGES, data.TEST_LABELS)
SYSTEM_FASHION = Path("/usr/share/datasets/fashion-mnist")


def idx_bytes(array: np.ndarray) -> bytes:
    """An array of uint8 in IDX format (magic 0x0000080N, big-endian dims, data), gzip-compressed."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + array.tobytes(), mtime=0)


def small_set(seed: int = 0, n_train: int = 5, n_test: int = 3) -> dict[str, bytes]:
    rng = np.random.default_rng(seed)
    return {
        data.TRAIN_IMAGES: idx_bytes(rng.integers(0, 256, (n_train, 28, 28))),
        data.TRAIN_LABELS: idx_bytes(rng.integers(0, 10, n_train)),
        data.TEST_IMAGES: idx_bytes(rng.integers(0, 256, (n_test, 28, 28))),
        data.TEST_LABELS: idx_bytes(rng.integers(0, 10, n_test)),
    }


def sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def write(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, raw in files.items():
        (folder / name).write_bytes(raw)
    return folder


def fake_spec(monkeypatch, files: dict[str, bytes], system_dirs=(), base_url="https://example.invalid/fm/"):
    """Replace the Fashion-MNIST spec by one whose pinned hashes are those of ``files``."""
    spec = dataclasses.replace(
        data.FASHION_MNIST,
        files={name: (sha(raw),) for name, raw in files.items()},
        system_dirs=tuple(str(d) for d in system_dirs),
        base_url=base_url,
    )
    monkeypatch.setattr(data, "FASHION_MNIST", spec)
    return spec


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """Empty cache under tmp_path; any real network call fails the test."""
    monkeypatch.setenv("COMPANION_DATA", str(tmp_path / "cache"))

    def no_network(*args, **kwargs):
        raise AssertionError("a test tried to download")

    monkeypatch.setattr(data, "_urlopen", no_network)


class FakeResponse(io.BytesIO):
    """What urlopen returns: a readable context manager; optionally fails after ``fail_after`` bytes."""

    def __init__(self, payload: bytes, fail_after: int | None = None, exc: BaseException | None = None):
        super().__init__(payload)
        self.fail_after, self.exc = fail_after, exc

    def read(self, size=-1):
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise self.exc
        if self.fail_after is not None:
            size = min(size if size > 0 else self.fail_after, self.fail_after - self.tell())
        return super().read(size)


def serve(files: dict[str, bytes], calls: list, fail_after=None, exc=None):
    def urlopen(url, timeout=None):
        calls.append(url)
        return FakeResponse(files[url.rsplit("/", 1)[1]], fail_after, exc)

    return urlopen


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- IDX parsing -------------------------------------------------------------------------------


def test_load_small_files_from_root(monkeypatch, tmp_path):
    files = small_set()
    fake_spec(monkeypatch, files)
    root = write(tmp_path / "root", files)
    (x_train, y_train), (x_test, y_test) = data.load_fashion_mnist(root, download=False)
    assert x_train.shape == (5, 28, 28) and x_test.shape == (3, 28, 28)
    assert y_train.shape == (5,) and y_test.shape == (3,)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.int64
    rng = np.random.default_rng(0)  # the same draws as small_set(0)
    np.testing.assert_array_equal(x_train, rng.integers(0, 256, (5, 28, 28)).astype(np.uint8))
    np.testing.assert_array_equal(y_train, rng.integers(0, 10, 5))
    x_train[0, 0, 0] = 1  # writable, like keras.datasets


def test_read_idx_roundtrip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "a.gz"
    path.write_bytes(idx_bytes(array))
    np.testing.assert_array_equal(data.read_idx(path, ndim=3), array)


def test_truncated_idx_names_file_and_sizes(tmp_path):
    raw = gzip.decompress(idx_bytes(np.zeros((4, 28, 28))))
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(raw[:-100]))
    expected = r"train-images-idx3-ubyte\.gz.*needs 3152 bytes, found 3052 \(file truncated\)"
    with pytest.raises(ValueError, match=expected):
        data.read_idx(path, ndim=3)


def test_wrong_magic_names_expected_and_found(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(idx_bytes(np.zeros(10)))  # labels: 0x00000801
    with pytest.raises(ValueError, match=r"labels\.gz.*expected 0x00000803.*found 0x00000801"):
        data.read_idx(path, ndim=3)
    path.write_bytes(gzip.compress(b"\x12\x34\x08\x01" + (3).to_bytes(4, "big") + b"abc"))
    with pytest.raises(ValueError, match="found 0x12340801"):
        data.read_idx(path)


def test_corrupt_gzip_is_a_clear_error(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(b"this is not gzip at all")
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte\.gz is not a valid gzip file"):
        data.read_idx(path)
    good = idx_bytes(np.zeros(1000))
    path.write_bytes(good[: len(good) // 2])  # gzip stream cut in the middle
    with pytest.raises(ValueError, match="not a valid gzip file"):
        data.read_idx(path)


def test_loader_reports_corrupt_file_that_passes_hash(monkeypatch, tmp_path):
    """Hash check and parsing are separate layers: a pinned but broken file still fails clearly."""
    files = small_set()
    files[data.TEST_IMAGES] = files[data.TEST_IMAGES][:40]
    fake_spec(monkeypatch, files)
    root = write(tmp_path / "root", files)
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz is not a valid gzip file"):
        data.load_fashion_mnist(root, download=False)


def test_mismatched_image_and_label_counts(monkeypatch, tmp_path):
    files = small_set()
    files[data.TRAIN_LABELS] = idx_bytes(np.zeros(4))
    fake_spec(monkeypatch, files)
    root = write(tmp_path / "root", files)
    with pytest.raises(ValueError, match=r"images \(5, 28, 28\).*labels \(4,\)"):
        data.load_fashion_mnist(root, download=False)


# --- search order ------------------------------------------------------------------------------


def test_search_order_root_then_system(monkeypatch, tmp_path):
    files = small_set()
    system = write(tmp_path / "system", files)
    fake_spec(monkeypatch, files, system_dirs=[system])
    root = write(tmp_path / "root", {data.TRAIN_IMAGES: files[data.TRAIN_IMAGES]})
    located = data._locate(data.FASHION_MNIST, root, download=False)
    assert located[data.TRAIN_IMAGES] == root / data.TRAIN_IMAGES
    assert located[data.TEST_LABELS] == system / data.TEST_LABELS
    data.load_fashion_mnist(root, download=False)


def test_search_order_cache_then_system(monkeypatch, tmp_path):
    files = small_set()
    system = write(tmp_path / "system", files)
    fake_spec(monkeypatch, files, system_dirs=[system])
    cache = write(tmp_path / "cache" / "fashion-mnist", {data.TEST_IMAGES: files[data.TEST_IMAGES]})
    assert data.cache_dir("fashion-mnist") == cache
    located = data._locate(data.FASHION_MNIST, None, download=False)
    assert located[data.TEST_IMAGES] == cache / data.TEST_IMAGES
    assert located[data.TRAIN_IMAGES] == system / data.TRAIN_IMAGES
    (x_train, _), (x_test, _) = data.load_fashion_mnist(download=False)
    assert x_train.shape == (5, 28, 28) and x_test.shape == (3, 28, 28)


def test_root_replaces_cache(monkeypatch, tmp_path):
    """Like torchvision's root: when given, the cache is not looked at."""
    files = small_set()
    fake_spec(monkeypatch, files)
    write(tmp_path / "cache" / "fashion-mnist", files)
    with pytest.raises(data.DatasetNotFoundError):
        data.load_fashion_mnist(tmp_path / "root", download=False)
    data.load_fashion_mnist(download=False)  # the cache alone is enough


def test_cache_default_without_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("COMPANION_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.cache_dir("mnist") == tmp_path / "home" / ".cache" / "companion" / "mnist"


# --- hashes ------------------------------------------------------------------------------------


def test_hash_mismatch_names_file_hashes_and_remedy(monkeypatch, tmp_path):
    files = small_set()
    spec = fake_spec(monkeypatch, files)
    root = write(tmp_path / "root", {**files, data.TRAIN_LABELS: idx_bytes(np.ones(5))})
    actual = sha(idx_bytes(np.ones(5)))
    expected = spec.files[data.TRAIN_LABELS][0]
    with pytest.raises(data.ChecksumError) as info:
        data.load_fashion_mnist(root, download=False)
    message = str(info.value)
    assert str(root / data.TRAIN_LABELS) in message
    assert actual in message and expected in message
    assert "delete it" in message


def test_pinned_hashes_are_well_formed():
    for spec in (data.FASHION_MNIST, data.MNIST):
        assert set(spec.files) == set(FILES)
        for digests in spec.files.values():
            assert digests and all(len(d) == 64 and int(d, 16) >= 0 for d in digests)


@pytest.mark.skipif(not SYSTEM_FASHION.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_installed_debian_files_match_pinned_hashes():
    for name in FILES:
        assert sha((SYSTEM_FASHION / name).read_bytes()) in data.FASHION_MNIST.files[name]


# --- downloads ---------------------------------------------------------------------------------


def test_download_into_cache(monkeypatch, tmp_path):
    files = small_set()
    fake_spec(monkeypatch, files)
    calls = []
    monkeypatch.setattr(data, "_urlopen", serve(files, calls))
    (x_train, _), _ = data.load_fashion_mnist()
    cache = tmp_path / "cache" / "fashion-mnist"
    assert sorted(calls) == sorted("https://example.invalid/fm/" + name for name in FILES)
    assert leftovers(cache) == sorted(FILES)
    assert x_train.shape == (5, 28, 28)
    calls.clear()
    data.load_fashion_mnist()  # second call: from the cache, no download
    assert calls == []


def test_download_only_missing_files_into_root(monkeypatch, tmp_path):
    files = small_set()
    fake_spec(monkeypatch, files)
    root = write(tmp_path / "root", {data.TRAIN_IMAGES: files[data.TRAIN_IMAGES]})
    calls = []
    monkeypatch.setattr(data, "_urlopen", serve(files, calls))
    data.load_fashion_mnist(root)
    assert len(calls) == 3 and not any(url.endswith(data.TRAIN_IMAGES) for url in calls)
    assert leftovers(root) == sorted(FILES)
    assert leftovers(tmp_path / "cache") == []


def test_download_failing_midway_leaves_no_file(monkeypatch, tmp_path):
    files = small_set()
    fake_spec(monkeypatch, files)
    monkeypatch.setattr(data, "_urlopen", serve(files, [], fail_after=50, exc=ConnectionResetError("reset by peer")))
    with pytest.raises(data.DatasetNotFoundError, match="reset by peer") as info:
        data.load_fashion_mnist(tmp_path / "root")
    assert isinstance(info.value.__cause__, ConnectionResetError)
    assert leftovers(tmp_path / "root") == []


def test_truncated_http_response_leaves_no_file(monkeypatch, tmp_path):
    files = small_set()
    fake_spec(monkeypatch, files)
    cut = http.client.IncompleteRead(b"x" * 50, 100)
    monkeypatch.setattr(data, "_urlopen", serve(files, [], fail_after=50, exc=cut))
    with pytest.raises(data.DatasetNotFoundError, match="IncompleteRead"):
        data.load_fashion_mnist(tmp_path / "root")
    assert leftovers(tmp_path / "root") == []


def test_interrupted_download_leaves_no_file(monkeypatch, tmp_path):
    files = small_set()
    fake_spec(monkeypatch, files)
    monkeypatch.setattr(data, "_urlopen", serve(files, [], fail_after=50, exc=KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        data.load_fashion_mnist(tmp_path / "root")
    assert leftovers(tmp_path / "root") == []


def test_download_with_wrong_bytes_is_rejected(monkeypatch, tmp_path):
    files = small_set()
    fake_spec(monkeypatch, files)
    wrong = {**files, data.TRAIN_IMAGES: idx_bytes(np.zeros((5, 28, 28)))}
    monkeypatch.setattr(data, "_urlopen", serve(wrong, []))
    with pytest.raises(data.ChecksumError) as info:
        data.load_fashion_mnist(tmp_path / "root")
    assert sha(wrong[data.TRAIN_IMAGES]) in str(info.value)
    assert data.FASHION_MNIST.files[data.TRAIN_IMAGES][0] in str(info.value)
    assert data.TRAIN_IMAGES in str(info.value)
    assert data.TRAIN_IMAGES not in leftovers(tmp_path / "root")
    assert not [name for name in leftovers(tmp_path / "root") if name.endswith(".part")]


# --- offline -----------------------------------------------------------------------------------


def test_offline_error_says_what_where_and_how(monkeypatch, tmp_path):
    files = small_set()
    system = write(tmp_path / "system", {data.TRAIN_IMAGES: files[data.TRAIN_IMAGES]})
    fake_spec(monkeypatch, files, system_dirs=[system])

    def offline(url, timeout=None):
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(data, "_urlopen", offline)
    cache = tmp_path / "cache" / "fashion-mnist"
    with pytest.raises(data.DatasetNotFoundError) as info:
        data.load_fashion_mnist()
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    for name in FILES[1:]:
        assert name in message
    assert data.TRAIN_IMAGES not in message.split("; looked in")[0]  # found, so not missing
    assert str(cache) in message and str(system) in message
    assert f"copy the missing files into {cache}" in message
    assert "sudo apt-get install dataset-fashion-mnist" in message and "root=" in message
    assert "name resolution" in message
    assert leftovers(cache) == []


def test_download_false_never_calls_network(monkeypatch, tmp_path):
    fake_spec(monkeypatch, small_set())
    with pytest.raises(data.DatasetNotFoundError, match=r"download=False.*download=True"):
        data.load_fashion_mnist(download=False)  # the autouse fixture fails on any network call


def test_mnist_offline_message_has_no_apt_hint(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "MNIST", dataclasses.replace(data.MNIST, system_dirs=(str(tmp_path / "none"),)))
    with pytest.raises(data.DatasetNotFoundError, match="MNIST: missing") as info:
        data.load_mnist(download=False)
    assert "apt-get" not in str(info.value)
    assert str(tmp_path / "cache" / "mnist") in str(info.value)


# --- class names and the real data set ---------------------------------------------------------


def test_class_names_follow_language():
    assert len(data.FASHION_MNIST_CLASSES) == len(data.FASHION_MNIST_CLASSES_ZH) == 10
    assert data.FASHION_MNIST_CLASSES[0] == "T-shirt/top" and data.FASHION_MNIST_CLASSES[9] == "Ankle boot"
    try:
        set_language("zh")
        assert data.fashion_mnist_classes() == data.FASHION_MNIST_CLASSES_ZH
        assert data.fashion_mnist_classes()[9] == "短靴"
        set_language("en")
        names = data.fashion_mnist_classes()
        assert names == data.FASHION_MNIST_CLASSES
        names.append("x")  # a copy: callers cannot change the module's list
        assert len(data.FASHION_MNIST_CLASSES) == 10
    finally:
        set_language("en")


@pytest.mark.skipif(not SYSTEM_FASHION.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_real_fashion_mnist_from_system_folder():
    (x_train, y_train), (x_test, y_test) = data.load_fashion_mnist(download=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.int64
    assert y_train.min() == 0 and y_train.max() == 9
    np.testing.assert_array_equal(np.bincount(y_test), np.full(10, 1000))
