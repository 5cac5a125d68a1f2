"""Data loaders: IDX parsing, search order, SHA-256 checks, downloads through pooch, offline errors.

The tests write small IDX files in the real format. None reaches the network: downloads go to a local HTTP
server on 127.0.0.1 (pooch's own requests-based downloader talks to it), and an autouse fixture fails any
test that asks for another address.
"""
import dataclasses
import gzip
import hashlib
import http.server
import logging
import socket
import sys
import threading
from pathlib import Path

import numpy as np
import pooch
import pytest

from companion import set_language
from companion.book import i18n
from companion.data import corpus, fetch
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


def leftovers(folder: Path) -> list[str]:
    """Every name in ``folder`` (pooch's temporary files included), sorted."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def fake_spec(monkeypatch, files: dict[str, bytes], system_dirs=(), base_url="http://127.0.0.1:9/fm/"):
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
    """Empty cache under tmp_path; a download from anywhere but 127.0.0.1 fails the test."""
    monkeypatch.setenv("COMPANION_DATA", str(tmp_path / "cache"))
    for proxy in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    real = fetch._downloader

    def local_only(url, output_file, pooch_instance):
        if not url.startswith("http://127.0.0.1:"):
            raise AssertionError(f"a test tried to download {url}")
        return real(url, output_file, pooch_instance)

    monkeypatch.setattr(fetch, "_downloader", local_only)


class Server:
    """What the local server serves (``files`` by name), what it was asked for, and how it misbehaves:
    names in ``cut`` announce their full length, send half and close the connection."""

    def __init__(self, port: int):
        self.files: dict[str, bytes] = {}
        self.cut: set[str] = set()
        self.requests: list[str] = []
        self.base_url = f"http://127.0.0.1:{port}/fm/"


@pytest.fixture
def server():
    """An HTTP server on 127.0.0.1 in a thread, for the length of one test."""
    state = None

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            name = self.path.rsplit("/", 1)[1]
            state.requests.append(name)
            if name not in state.files:
                self.send_error(404)
                return
            raw = state.files[name]
            self.send_response(200)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw[: len(raw) // 2] if name in state.cut else raw)

        def log_message(self, *args):  # keep the test output clean
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = Server(httpd.server_port)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def closed_port_url() -> str:
    """A 127.0.0.1 address where nothing listens: connecting is refused, as on a machine without network."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/fm/"


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


# --- search order: root, system folders, cache ---------------------------------------------------


def test_search_order_root_then_system(monkeypatch, tmp_path):
    files = small_set()
    system = write(tmp_path / "system", files)
    spec = fake_spec(monkeypatch, files, system_dirs=[system])
    root = write(tmp_path / "root", {data.TRAIN_IMAGES: files[data.TRAIN_IMAGES]})
    assert fetch.search_folders(spec, root) == [root, system]
    located = fetch.locate(spec, root)
    assert located[data.TRAIN_IMAGES] == root / data.TRAIN_IMAGES
    assert located[data.TEST_LABELS] == system / data.TEST_LABELS
    data.load_fashion_mnist(root, download=False)


def test_system_folder_wins_over_cache(monkeypatch, tmp_path):
    """Both copies are accepted (two pinned digests, as upstream and Debian): the system one is read."""
    system_files, cache_files = small_set(seed=0), small_set(seed=1)
    system = write(tmp_path / "system", system_files)
    cache = write(tmp_path / "cache" / "fashion-mnist", cache_files)
    spec = dataclasses.replace(
        data.FASHION_MNIST,
        files={name: (sha(cache_files[name]), sha(system_files[name])) for name in FILES},
        system_dirs=(str(system),),
    )
    monkeypatch.setattr(data, "FASHION_MNIST", spec)
    assert fetch.search_folders(spec) == [system, cache]
    assert fetch.locate(spec) == {name: system / name for name in FILES}
    (x_train, _), _ = data.load_fashion_mnist(download=False)
    np.testing.assert_array_equal(x_train, data.read_idx(system / data.TRAIN_IMAGES))
    assert not np.array_equal(x_train, data.read_idx(cache / data.TRAIN_IMAGES))


def test_cache_fills_in_what_the_system_folder_lacks(monkeypatch, tmp_path):
    files = small_set()
    system = write(tmp_path / "system", {name: files[name] for name in FILES[:3]})
    spec = fake_spec(monkeypatch, files, system_dirs=[system])
    cache = write(tmp_path / "cache" / "fashion-mnist", {data.TEST_LABELS: files[data.TEST_LABELS]})
    assert fetch.cache_dir("fashion-mnist") == cache
    located = fetch.locate(spec)
    assert located[data.TEST_LABELS] == cache / data.TEST_LABELS
    assert located[data.TRAIN_IMAGES] == system / data.TRAIN_IMAGES
    (x_train, _), (x_test, _) = data.load_fashion_mnist(download=False)
    assert x_train.shape == (5, 28, 28) and x_test.shape == (3, 28, 28)


def test_root_replaces_cache(monkeypatch, tmp_path):
    """Like torchvision's root: when given, the cache is not looked at."""
    files = small_set()
    fake_spec(monkeypatch, files)
    write(tmp_path / "cache" / "fashion-mnist", files)
    with pytest.raises(fetch.DatasetNotFoundError):
        data.load_fashion_mnist(tmp_path / "root", download=False)
    data.load_fashion_mnist(download=False)  # the cache alone is enough


def test_cache_default_without_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("COMPANION_DATA")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert fetch.cache_dir("mnist") == pooch.os_cache("companion") / "mnist"
    if sys.platform.startswith("linux"):
        assert fetch.cache_dir("mnist") == tmp_path / "home" / ".cache" / "companion" / "mnist"


# --- hashes ------------------------------------------------------------------------------------


def test_hash_mismatch_names_file_hashes_and_remedy(monkeypatch, tmp_path):
    files = small_set()
    spec = fake_spec(monkeypatch, files)
    root = write(tmp_path / "root", {**files, data.TRAIN_LABELS: idx_bytes(np.ones(5))})
    actual = sha(idx_bytes(np.ones(5)))
    expected = spec.files[data.TRAIN_LABELS][0]
    with pytest.raises(fetch.ChecksumError) as info:
        data.load_fashion_mnist(root, download=False)
    message = str(info.value)
    assert str(root / data.TRAIN_LABELS) in message
    assert actual in message and expected in message
    assert "delete it" in message


def test_a_damaged_cached_file_is_reported_not_silently_replaced(monkeypatch, tmp_path, server):
    """pooch alone would re-download a file whose hash changed; the loader reports it instead."""
    files = small_set()
    server.files = files
    fake_spec(monkeypatch, files, base_url=server.base_url)
    cache = write(tmp_path / "cache" / "fashion-mnist", {**files, data.TEST_IMAGES: b"damaged"})
    with pytest.raises(fetch.ChecksumError, match="t10k-images-idx3-ubyte.gz has SHA-256"):
        data.load_fashion_mnist()
    assert server.requests == []
    assert (cache / data.TEST_IMAGES).read_bytes() == b"damaged"


def test_pinned_hashes_are_well_formed():
    for spec in (data.FASHION_MNIST, data.MNIST):
        assert set(spec.files) == set(FILES)
        for digests in spec.files.values():
            assert digests and all(len(d) == 64 and int(d, 16) >= 0 for d in digests)


@pytest.mark.skipif(not SYSTEM_FASHION.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_installed_debian_files_match_pinned_hashes():
    for name in FILES:
        digest = sha((SYSTEM_FASHION / name).read_bytes())
        # Accepted, but not the first digest: that one is the canonical address's, which downloads must match.
        assert digest in data.FASHION_MNIST.files[name] and digest != data.FASHION_MNIST.files[name][0]


# --- downloads (pooch, against the local server) -------------------------------------------------


def test_download_into_cache_then_the_cache_is_used(monkeypatch, tmp_path, server):
    files = small_set()
    server.files = files
    fake_spec(monkeypatch, files, base_url=server.base_url)
    (x_train, _), _ = data.load_fashion_mnist()
    cache = tmp_path / "cache" / "fashion-mnist"
    assert sorted(server.requests) == sorted(FILES)
    assert leftovers(cache) == sorted(FILES)
    assert all((cache / name).read_bytes() == raw for name, raw in files.items())
    np.testing.assert_array_equal(x_train, data.read_idx(cache / data.TRAIN_IMAGES))
    server.requests.clear()
    data.load_fashion_mnist()  # second call: from the cache, no download
    assert server.requests == []


def test_download_only_missing_files_into_root(monkeypatch, tmp_path, server):
    files = small_set()
    server.files = files
    fake_spec(monkeypatch, files, base_url=server.base_url)
    root = write(tmp_path / "root", {data.TRAIN_IMAGES: files[data.TRAIN_IMAGES]})
    data.load_fashion_mnist(root)
    assert sorted(server.requests) == sorted(FILES[1:])
    assert leftovers(root) == sorted(FILES)
    assert leftovers(tmp_path / "cache") == []


def test_dropped_connection_leaves_no_partial_file(monkeypatch, tmp_path, server):
    """The server announces the whole file, sends half and hangs up: nothing of it stays on disk."""
    files = small_set()
    server.files, server.cut = files, {data.TRAIN_LABELS}
    fake_spec(monkeypatch, files, base_url=server.base_url)
    root = tmp_path / "root"
    with pytest.raises(fetch.DatasetNotFoundError) as info:
        data.load_fashion_mnist(root)
    message = str(info.value)
    assert f"Downloading {server.base_url}{data.TRAIN_LABELS} failed" in message
    assert message.startswith(f"Fashion-MNIST: missing {', '.join(FILES[1:])}; looked in {root}.")
    assert isinstance(info.value.__cause__, OSError)
    # The file before it is complete and verified; of the cut one not even a temporary file is left.
    assert leftovers(root) == [data.TRAIN_IMAGES]
    server.cut, server.requests = set(), []
    data.load_fashion_mnist(root)  # a second try fetches only what is still missing
    assert sorted(server.requests) == sorted(FILES[1:])
    assert leftovers(root) == sorted(FILES)


@pytest.mark.parametrize("damage", ["corrupted", "truncated"])
def test_download_with_wrong_bytes_is_rejected_and_deleted(monkeypatch, tmp_path, server, damage):
    """Served as complete (right Content-Length) but not the pinned bytes: pooch's hash check refuses them."""
    files = small_set()
    spec = fake_spec(monkeypatch, files, base_url=server.base_url)
    good = files[data.TEST_IMAGES]
    wrong = good[:100] + bytes([good[100] ^ 0xFF]) + good[101:] if damage == "corrupted" else good[:-10]
    server.files = {**files, data.TEST_IMAGES: wrong}
    root = tmp_path / "root"
    with pytest.raises(fetch.ChecksumError) as info:
        data.load_fashion_mnist(root)
    message = str(info.value)
    assert f"downloaded {server.base_url}{data.TEST_IMAGES}" in message
    assert sha(wrong) in message and spec.files[data.TEST_IMAGES][0] in message
    assert "nothing was saved" in message and str(root) in message
    assert leftovers(root) == sorted(FILES[:2])  # the two verified files before it, nothing else


def test_interrupted_download_leaves_no_file(monkeypatch, tmp_path):
    """Ctrl-C in the middle of a download: pooch deletes its temporary file on the way out."""
    files = small_set()
    fake_spec(monkeypatch, files)
    written = []

    def interrupted(url, output_file, pooch_instance):
        Path(output_file).write_bytes(files[data.TRAIN_IMAGES][:50])
        written.append(Path(output_file))
        raise KeyboardInterrupt

    monkeypatch.setattr(fetch, "_downloader", interrupted)
    root = tmp_path / "root"
    with pytest.raises(KeyboardInterrupt):
        data.load_fashion_mnist(root)
    assert [path.parent for path in written] == [root]  # the partial download was there, in the target
    assert leftovers(root) == []


def test_http_error_is_a_not_found_error(monkeypatch, tmp_path, server):
    files = small_set()
    server.files = {name: raw for name, raw in files.items() if name != data.TEST_LABELS}
    fake_spec(monkeypatch, files, base_url=server.base_url)
    with pytest.raises(fetch.DatasetNotFoundError, match=r"t10k-labels-idx1-ubyte\.gz failed \(HTTPError: 404"):
        data.load_fashion_mnist(tmp_path / "root")
    assert leftovers(tmp_path / "root") == sorted(FILES[:3])


def test_downloads_log_nothing(monkeypatch, tmp_path, server):
    """A notebook shows stderr as an error: pooch's INFO record of each download (its logger writes to
    stderr) is held back; its level is restored afterwards."""
    files = small_set()
    server.files = files
    fake_spec(monkeypatch, files, base_url=server.base_url)
    logger = pooch.get_logger()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    level = logger.level
    try:
        data.load_fashion_mnist()
    finally:
        logger.removeHandler(handler)
    assert len(server.requests) == 4  # it did download
    assert [record.getMessage() for record in records] == []
    assert logger.level == level


# --- offline -----------------------------------------------------------------------------------


def test_offline_error_says_what_where_and_how(monkeypatch, tmp_path):
    files = small_set()
    system = write(tmp_path / "system", {data.TRAIN_IMAGES: files[data.TRAIN_IMAGES]})
    base_url = closed_port_url()
    fake_spec(monkeypatch, files, system_dirs=[system], base_url=base_url)
    cache = tmp_path / "cache" / "fashion-mnist"
    with pytest.raises(fetch.DatasetNotFoundError) as info:
        data.load_fashion_mnist()
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert message.startswith(f"Fashion-MNIST: missing {', '.join(FILES[1:])}; looked in {system}, {cache}.")
    assert "ConnectionError" in message  # requests' error, and why
    assert "sudo apt-get install dataset-fashion-mnist" in message and "root=" in message
    urls = ", ".join(base_url + name for name in FILES[1:])
    assert f"download {urls} into {cache}" in message
    assert leftovers(cache) == []


def test_download_false_never_calls_network(monkeypatch, tmp_path):
    fake_spec(monkeypatch, small_set())

    def no_network(*args):
        raise AssertionError("download=False tried to download")

    monkeypatch.setattr(fetch, "_downloader", no_network)
    with pytest.raises(fetch.DatasetNotFoundError, match=r"download=False.*download=True"):
        data.load_fashion_mnist(download=False)
    assert leftovers(tmp_path / "cache") == []


def test_mnist_offline_message_has_no_apt_hint(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "MNIST", dataclasses.replace(data.MNIST, system_dirs=(str(tmp_path / "none"),)))
    with pytest.raises(fetch.DatasetNotFoundError, match="MNIST: missing") as info:
        data.load_mnist(download=False)
    message = str(info.value)
    assert "apt-get" not in message
    assert str(tmp_path / "cache" / "mnist") in message
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz" in message


# --- class names, languages and the real data set ------------------------------------------------


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


def test_languages_are_defined_once():
    assert corpus.LANGUAGES is i18n.LANGUAGES


def test_public_names_the_chapters_import():
    from companion.data import (DatasetNotFoundError, cifar10_classes, fashion_mnist_classes,  # noqa: F401
                                load_cifar10, load_fashion_mnist, load_mnist)

    assert DatasetNotFoundError is fetch.DatasetNotFoundError and issubclass(DatasetNotFoundError, FileNotFoundError)


@pytest.mark.skipif(not SYSTEM_FASHION.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_real_fashion_mnist_from_system_folder():
    assert fetch.locate(data.FASHION_MNIST) == {name: SYSTEM_FASHION / name for name in FILES}
    (x_train, y_train), (x_test, y_test) = data.load_fashion_mnist(download=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.int64
    assert y_train.min() == 0 and y_train.max() == 9
    np.testing.assert_array_equal(np.bincount(y_test), np.full(10, 1000))
