"""CIFAR-10 loader: archive format, NCHW layout, search order, hashes, atomic downloads, clear errors.

The tests write small archives in the real format (a tar.gz holding ``cifar-10-batches-py/`` with five
data batches and a test batch, each a pickled dict with the real keys) and pin their hashes. None reaches the
network: downloads go to test_data's local HTTP server on 127.0.0.1, and its autouse fixture ``isolated``
(imported here) fails a test that asks for any other address.
"""
import dataclasses
import importlib.util
import io
import os
import pickle
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pytest

from companion import set_language
from companion.data import fetch
from companion.data import vision as data
from test_data import closed_port_url, isolated, leftovers, server, sha  # noqa: F401 (fixtures)

ARCHIVE = data.CIFAR10_ARCHIVE
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
BATCHES = (*data.CIFAR10_TRAIN_BATCHES, data.CIFAR10_TEST_BATCH)
# The real archive's order (not sorted), with its two other members: the loader must not assume an order.
ORDER = ("data_batch_4", "readme.html", "test_batch", "data_batch_3", "batches.meta", "data_batch_2",
         "data_batch_5", "data_batch_1")


def batch_pickle(images: np.ndarray, labels, name: str) -> bytes:
    """A batch as the archive holds it: a dict with byte-string keys, pickled as by Python 2 and NumPy 1."""
    batch = {
        b"batch_label": name.encode(),
        b"labels": [int(label) for label in labels],
        b"data": np.asarray(images),
        b"filenames": [f"img_{i}.png".encode() for i in range(len(labels))],
    }
    raw = pickle.dumps(batch, protocol=2)
    # NumPy 2 writes numpy._core; the archive's pickles (NumPy 1) name numpy.core.
    assert b"numpy._core.multiarray" in raw
    return raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def tar_gz(members: dict[str, bytes], folder: str = data.CIFAR10_FOLDER) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        entry = tarfile.TarInfo(folder)
        entry.type, entry.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(entry)
        for name, raw in members.items():
            entry = tarfile.TarInfo(f"{folder}/{name}")
            entry.size = len(raw)
            tar.addfile(entry, io.BytesIO(raw))
    return buffer.getvalue()


def small_batches(seed: int = 0, n: int = 3) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(data (n, 3072) uint8, labels (n,)) for each of the six batches."""
    rng = np.random.default_rng(seed)
    return {
        name: (rng.integers(0, 256, (n, 3072)).astype(np.uint8), rng.integers(0, 10, n))
        for name in BATCHES
    }


def archive(batches: dict[str, tuple[np.ndarray, np.ndarray]], drop: tuple[str, ...] = (), **replace) -> bytes:
    """The batches as a cifar-10-python.tar.gz, in the real member order; ``replace`` swaps raw members."""
    members = {}
    for name in ORDER:
        if name in drop:
            continue
        if name in replace:
            members[name] = replace[name]
        elif name in batches:
            members[name] = batch_pickle(*batches[name], name)
        elif name == "batches.meta":
            members[name] = pickle.dumps({b"label_names": [c.encode() for c in data.CIFAR10_CLASSES]}, 2)
        else:
            members[name] = b"<html>readme</html>"
    return tar_gz(members)


def pin(monkeypatch, raw: bytes, base_url: str | None = None):
    """Replace the CIFAR-10 spec by one whose pinned hash is that of ``raw`` (and, if given, its address)."""
    spec = dataclasses.replace(data.CIFAR10, files={ARCHIVE: (sha(raw),)}, base_url=base_url or data.CIFAR10.base_url)
    monkeypatch.setattr(data, "CIFAR10", spec)
    return spec


def put(folder: Path, raw: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ARCHIVE).write_bytes(raw)
    return folder


@pytest.fixture
def small(monkeypatch):
    """Six small batches, their archive, and that archive's hash pinned."""
    batches = small_batches()
    raw = archive(batches)
    pin(monkeypatch, raw)
    return batches, raw


# --- loading -----------------------------------------------------------------------------------


def test_load_small_archive_from_root(small, tmp_path):
    batches, raw = small
    root = put(tmp_path / "root", raw)
    (x_train, y_train), (x_test, y_test) = data.load_cifar10(root, download=False)
    assert x_train.shape == (15, 3, 32, 32) and x_test.shape == (3, 3, 32, 32)
    assert y_train.shape == (15,) and y_test.shape == (3,)
    assert x_train.dtype == np.uint8 and x_test.dtype == np.uint8
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    # Batches 1..5 in that order, whatever their order in the archive.
    train = [batches[name] for name in data.CIFAR10_TRAIN_BATCHES]
    np.testing.assert_array_equal(x_train.reshape(15, 3072), np.concatenate([x for x, _ in train]))
    np.testing.assert_array_equal(y_train, np.concatenate([y for _, y in train]))
    np.testing.assert_array_equal(x_test.reshape(3, 3072), batches["test_batch"][0])
    np.testing.assert_array_equal(y_test, batches["test_batch"][1])
    x_train[0, 0, 0, 0] = 1  # writable, like keras.datasets
    x_test[0, 0, 0, 0] = 1
    assert leftovers(root) == [ARCHIVE]  # read from the archive, nothing extracted


def test_rows_are_channel_planes_so_images_are_nchw(monkeypatch, tmp_path):
    """A row is 1024 red values, then 1024 green, then 1024 blue, each plane row by row."""
    batches = small_batches(seed=1, n=2)
    row = np.concatenate([np.full(1024, 10), np.full(1024, 20), np.full(1024, 30)]).astype(np.uint8)
    row[:32] = np.arange(32)  # the first image row of the red plane
    row[32] = 99  # red, second image row, first column
    images, labels = batches["data_batch_1"]
    images[0] = row
    raw = archive(batches)
    pin(monkeypatch, raw)
    (x_train, _), _ = data.load_cifar10(put(tmp_path / "root", raw), download=False)
    image = x_train[0]
    assert image.shape == (3, 32, 32)
    np.testing.assert_array_equal(image[0].ravel()[32:], row[32:1024])
    np.testing.assert_array_equal(image[0, 0], np.arange(32))
    assert image[0, 1, 0] == 99
    assert (image[1] == 20).all() and (image[2] == 30).all()
    np.testing.assert_array_equal(image.reshape(-1), row)
    # Keras' channels-last view of the same image: pixel (0, 1) is (red 1, green 20, blue 30).
    np.testing.assert_array_equal(x_train.transpose(0, 2, 3, 1)[0, 0, 1], [1, 20, 30])


def test_loading_emits_no_warning(small, tmp_path):
    """Notebooks treat stderr as an error: legacy numpy.core pickles must load silently."""
    _, raw = small
    root = put(tmp_path / "root", raw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data.load_cifar10(root, download=False)


# --- search order and cache --------------------------------------------------------------------


def test_cache_is_used_without_root(small, tmp_path):
    _, raw = small
    cache = put(tmp_path / "cache" / "cifar10", raw)
    assert fetch.cache_dir("cifar10") == cache
    assert fetch.locate(data.CIFAR10) == {ARCHIVE: cache / ARCHIVE}
    (x_train, _), (x_test, _) = data.load_cifar10(download=False)
    assert x_train.shape == (15, 3, 32, 32) and x_test.shape == (3, 3, 32, 32)


def test_root_comes_first_and_replaces_cache(monkeypatch, small, tmp_path):
    _, raw = small
    put(tmp_path / "cache" / "cifar10", b"not the archive")  # would fail its hash if it were read
    root = put(tmp_path / "root", raw)
    assert fetch.locate(data.CIFAR10, root) == {ARCHIVE: root / ARCHIVE}
    data.load_cifar10(root, download=False)
    with pytest.raises(fetch.DatasetNotFoundError):
        data.load_cifar10(tmp_path / "empty", download=False)  # the cache is not looked at


def test_cache_default_without_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("COMPANION_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert fetch.cache_dir(data.CIFAR10.name) == tmp_path / "home" / ".cache" / "companion" / "cifar10"


# --- hashes ------------------------------------------------------------------------------------


def test_hash_is_checked_before_anything_is_unpickled(monkeypatch, small, tmp_path):
    _, raw = small
    other = archive(small_batches(seed=2))
    root = put(tmp_path / "root", other)

    def must_not_parse(*args):
        raise AssertionError("parsed an archive whose hash did not match")

    monkeypatch.setattr(data, "_parse_cifar10", must_not_parse)
    with pytest.raises(fetch.ChecksumError) as info:
        data.load_cifar10(root, download=False)
    message = str(info.value)
    assert str(root / ARCHIVE) in message and sha(other) in message and sha(raw) in message
    assert "delete it" in message


def test_pinned_hash_is_keras_pin_for_the_same_url():
    assert data.CIFAR10.base_url + ARCHIVE == URL
    (digest,) = data.CIFAR10.files[ARCHIVE]
    assert len(digest) == 64 and int(digest, 16) >= 0
    spec = importlib.util.find_spec("keras")  # finds the package without importing it (and TensorFlow)
    if spec is None:
        pytest.skip("keras is not installed")
    source = Path(spec.submodule_search_locations[0], "src", "datasets", "cifar10.py").read_text()
    assert URL in source and digest in source


def test_unpickling_refuses_globals_other_than_numpy_arrays(monkeypatch, tmp_path):
    """Second fence behind the hash: a batch that would call a function is refused, not run."""

    class CallsAFunction:
        def __reduce__(self):
            return os.getpid, ()

    batches = small_batches()
    evil = pickle.dumps({b"data": batches["data_batch_2"][0], b"labels": [0, 1, 2], b"x": CallsAFunction()}, 2)
    raw = archive(batches, data_batch_2=evil)
    pin(monkeypatch, raw)
    with pytest.raises(ValueError, match=r"member cifar-10-batches-py/data_batch_2 .*refusing to load \w+\.getpid"):
        data.load_cifar10(put(tmp_path / "root", raw), download=False)


# --- downloads ---------------------------------------------------------------------------------


def test_download_into_cache(monkeypatch, tmp_path, server):
    raw = archive(small_batches())
    pin(monkeypatch, raw, server.base_url)
    server.files = {ARCHIVE: raw}
    (x_train, _), _ = data.load_cifar10()
    cache = tmp_path / "cache" / "cifar10"
    assert server.requests == [ARCHIVE]
    assert leftovers(cache) == [ARCHIVE] and (cache / ARCHIVE).read_bytes() == raw
    assert x_train.shape == (15, 3, 32, 32)
    server.requests.clear()
    data.load_cifar10()  # second call: from the cache, no download
    assert server.requests == []


def test_download_into_root(monkeypatch, tmp_path, server):
    raw = archive(small_batches())
    pin(monkeypatch, raw, server.base_url)
    server.files = {ARCHIVE: raw}
    data.load_cifar10(tmp_path / "root")
    assert leftovers(tmp_path / "root") == [ARCHIVE]
    assert leftovers(tmp_path / "cache") == []


def test_dropped_connection_leaves_no_file(monkeypatch, tmp_path, server):
    raw = archive(small_batches())
    pin(monkeypatch, raw, server.base_url)
    server.files, server.cut = {ARCHIVE: raw}, {ARCHIVE}
    with pytest.raises(fetch.DatasetNotFoundError, match=rf"Downloading {server.base_url}{ARCHIVE} failed") as info:
        data.load_cifar10()
    assert isinstance(info.value.__cause__, OSError)
    assert leftovers(tmp_path / "cache" / "cifar10") == []


def test_download_with_wrong_bytes_is_rejected(monkeypatch, tmp_path, server):
    raw = archive(small_batches())
    pin(monkeypatch, raw, server.base_url)
    wrong = archive(small_batches(seed=3))
    server.files = {ARCHIVE: wrong}
    with pytest.raises(fetch.ChecksumError) as info:
        data.load_cifar10(tmp_path / "root")
    message = str(info.value)
    assert server.base_url + ARCHIVE in message and sha(wrong) in message and sha(raw) in message
    assert leftovers(tmp_path / "root") == []  # neither the archive nor a temporary file


# --- damaged archives --------------------------------------------------------------------------


def load_pinned(monkeypatch, tmp_path, raw: bytes):
    """Load ``raw`` with its own hash pinned: the parser, not the hash check, has to catch the damage."""
    pin(monkeypatch, raw)
    return data.load_cifar10(put(tmp_path / "root", raw), download=False)


def test_truncated_gzip_is_a_clear_error(monkeypatch, tmp_path):
    raw = archive(small_batches())
    with pytest.raises(ValueError, match=r"cifar-10-python\.tar\.gz is not a valid tar\.gz archive.*delete it"):
        load_pinned(monkeypatch, tmp_path, raw[: len(raw) // 2])


def test_not_gzip_at_all_is_a_clear_error(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match=r"not a valid tar\.gz archive"):
        load_pinned(monkeypatch, tmp_path, b"<html>403 Forbidden</html>")


def test_wrong_shaped_batch_names_member_expected_and_found(monkeypatch, tmp_path):
    batches = small_batches()
    images, labels = batches["data_batch_3"]
    batches["data_batch_3"] = (images[:, :3071], labels)
    with pytest.raises(ValueError) as info:
        load_pinned(monkeypatch, tmp_path, archive(batches))
    message = str(info.value)
    assert "member cifar-10-batches-py/data_batch_3" in message
    assert "expected data uint8 (N, 3072)" in message and "found uint8 (3, 3071)" in message


def test_wrong_dtype_and_label_count_are_clear_errors(monkeypatch, tmp_path):
    batches = small_batches()
    batches["test_batch"] = (batches["test_batch"][0].astype(np.float32), batches["test_batch"][1])
    with pytest.raises(ValueError, match=r"test_batch: expected data uint8 \(N, 3072\).*found float32 \(3, 3072\)"):
        load_pinned(monkeypatch, tmp_path, archive(batches))
    batches = small_batches()
    batches["data_batch_5"] = (batches["data_batch_5"][0], [1, 2])
    with pytest.raises(ValueError, match=r"data_batch_5: expected integer labels of shape \(3,\), found int64 \(2,\)"):
        load_pinned(monkeypatch, tmp_path, archive(batches))
    batches = small_batches()
    batches["data_batch_1"] = (batches["data_batch_1"][0], [0, 10, 3])
    with pytest.raises(ValueError, match=r"data_batch_1: expected labels 0\.\.9, found values from 0 to 10"):
        load_pinned(monkeypatch, tmp_path, archive(batches))


def test_truncated_pickle_and_wrong_keys_name_the_member(monkeypatch, tmp_path):
    batches = small_batches()
    good = batch_pickle(*batches["data_batch_2"], "data_batch_2")
    with pytest.raises(ValueError, match=r"member cifar-10-batches-py/data_batch_2 is not a readable pickled batch"):
        load_pinned(monkeypatch, tmp_path, archive(batches, data_batch_2=good[: len(good) // 2]))
    fine_labels = pickle.dumps({b"data": batches["test_batch"][0], b"fine_labels": [0, 1, 2]}, 2)
    with pytest.raises(ValueError, match=r"test_batch: expected a dict with keys b'data' and b'labels', found keys"):
        load_pinned(monkeypatch, tmp_path, archive(batches, test_batch=fine_labels))


def test_missing_batch_lists_what_is_missing(monkeypatch, tmp_path):
    with pytest.raises(ValueError) as info:
        load_pinned(monkeypatch, tmp_path, archive(small_batches(), drop=("test_batch", "data_batch_2")))
    missing = str(info.value).split("; missing ")[1]
    assert "cifar-10-batches-py/test_batch" in missing and "cifar-10-batches-py/data_batch_2" in missing
    assert "data_batch_1" not in missing


# --- offline -----------------------------------------------------------------------------------


def test_offline_error_says_where_to_put_the_archive(monkeypatch, tmp_path):
    base_url = closed_port_url()
    monkeypatch.setattr(data, "CIFAR10", dataclasses.replace(data.CIFAR10, base_url=base_url))
    cache = tmp_path / "cache" / "cifar10"
    with pytest.raises(fetch.DatasetNotFoundError) as info:
        data.load_cifar10()
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert message.startswith(f"CIFAR-10: missing {ARCHIVE}; looked in {cache}.")
    assert "ConnectionError" in message
    assert f"download {base_url}{ARCHIVE} into {cache}" in message and "root=" in message
    assert "apt-get" not in message
    assert leftovers(cache) == []


def test_download_false_never_calls_network():
    with pytest.raises(fetch.DatasetNotFoundError, match=rf"{ARCHIVE}.*download=False.*download {URL}.*root=.*download=True"):
        data.load_cifar10(download=False)  # the autouse fixture fails on any network call


# --- class names -------------------------------------------------------------------------------


def test_class_names_follow_language():
    assert data.CIFAR10_CLASSES == ["airplane", "automobile", "bird", "cat", "deer",
                                    "dog", "frog", "horse", "ship", "truck"]
    assert data.CIFAR10_CLASSES_ZH == ["飞机", "汽车", "鸟", "猫", "鹿", "狗", "青蛙", "马", "船", "卡车"]
    try:
        set_language("zh")
        assert data.cifar10_classes() == data.CIFAR10_CLASSES_ZH
        set_language("en")
        names = data.cifar10_classes()
        assert names == data.CIFAR10_CLASSES
        names.append("x")  # a copy: callers cannot change the module's list
        assert len(data.CIFAR10_CLASSES) == 10
    finally:
        set_language("en")
