"""Fashion-MNIST, MNIST and CIFAR-10 as NumPy arrays: the data sets, their pinned files and their formats.

``load_fashion_mnist()`` and ``load_mnist()`` return ``(x_train, y_train), (x_test, y_test)`` like
``keras.datasets``: images ``uint8`` of shape ``(N, 28, 28)``, labels ``int64`` of shape ``(N,)``.
``load_cifar10()`` returns the same tuples with colour images ``uint8`` of shape ``(N, 3, 32, 32)``:
channels first (NCHW), torch's layout; Keras wants ``x.transpose(0, 2, 3, 1)`` (NHWC).

The files (the four IDX ``.gz`` files; CIFAR-10's one ``cifar-10-python.tar.gz``) come from
:func:`companion.data.fetch.fetch`: ``root`` if given, the system data folders, the cache, else a verified
download (see that module). Reading them is done here: the IDX parser and a restricted unpickler for the
CIFAR-10 batches, both with errors that name the file and what was expected.
"""
from __future__ import annotations

import codecs
import gzip
import io
import pickle
import tarfile
import zlib
from pathlib import Path

import numpy as np

from ..book.i18n import get_language
from .fetch import DatasetSpec, fetch

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_CLASSES_ZH",
    "fashion_mnist_classes",
    "load_fashion_mnist",
    "load_mnist",
    "CIFAR10_CLASSES",
    "CIFAR10_CLASSES_ZH",
    "cifar10_classes",
    "load_cifar10",
    "read_idx",
]

FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
FASHION_MNIST_CLASSES_ZH = [
    "T恤/上衣", "裤子", "套头衫", "连衣裙", "外套",
    "凉鞋", "衬衫", "运动鞋", "包", "短靴",
]


# Label order of the archive's batches.meta (label_names).
CIFAR10_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]
CIFAR10_CLASSES_ZH = [
    "飞机", "汽车", "鸟", "猫", "鹿",
    "狗", "青蛙", "马", "船", "卡车",
]


def _in_language(english: list[str], chinese: list[str]) -> list[str]:
    # A copy, so that callers cannot change the module's lists.
    return list(chinese if get_language() == "zh" else english)


def fashion_mnist_classes() -> list[str]:
    """The ten Fashion-MNIST class names in the current language (see ``companion.set_language``)."""
    return _in_language(FASHION_MNIST_CLASSES, FASHION_MNIST_CLASSES_ZH)


def cifar10_classes() -> list[str]:
    """The ten CIFAR-10 class names in the current language (see ``companion.set_language``)."""
    return _in_language(CIFAR10_CLASSES, CIFAR10_CLASSES_ZH)


TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"

# Fashion-MNIST, two accepted digests per file:
# - upstream: the files at the canonical address, as listed (sizes 26421880, 29515, 4422102, 5148 bytes)
#   in tensorflow/datasets, tensorflow_datasets/url_checksums/fashion_mnist.txt;
# - Debian: the files of `dataset-fashion-mnist` 0.0~git20200523.55506a9-1, hashed here. Debian re-wrote
#   the gzip headers (no stored file name, a 2020 time stamp), so their MD5s differ from the ones that
#   the upstream README (zalandoresearch/fashion-mnist) publishes. The compressed data are the same:
#   putting back the upstream header (file name, time stamp 2017-08-31) gives files whose MD5s equal the
#   README's and whose SHA-256s equal the upstream digests below.
FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    base_url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    files={
        TRAIN_IMAGES: (
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",  # upstream
            "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",  # Debian
        ),
        TRAIN_LABELS: (
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        ),
        TEST_IMAGES: (
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        ),
        TEST_LABELS: (
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
        ),
    },
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    install_hint="sudo apt-get install dataset-fashion-mnist",
)

# MNIST from the mirror torchvision uses. SHA-256s as published in tensorflow/datasets,
# tensorflow_datasets/url_checksums/mnist.txt (Google's cvdf mirror of the same files, sizes 9912422,
# 28881, 1648877, 4542 bytes) and used with this very mirror by ankane/torchvision-ruby,
# lib/torchvision/datasets/mnist.rb.
MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    base_url="https://ossci-datasets.s3.amazonaws.com/mnist/",
    files={
        TRAIN_IMAGES: ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",),
        TRAIN_LABELS: ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",),
        TEST_IMAGES: ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",),
        TEST_LABELS: ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",),
    },
    system_dirs=("/usr/share/datasets/mnist",),
)

CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
# The python-pickle version from the authors' page (https://www.cs.toronto.edu/~kriz/cifar.html). SHA-256 as
# pinned for this very URL by Keras, keras/src/datasets/cifar10.py (`file_hash` of `get_file`, Keras 3.15.1,
# the version installed here). torchvision pins the same file by MD5, c58f30108f718f92721af3b95e74349a
# (torchvision/datasets/cifar.py, `tgz_md5`).
CIFAR10 = DatasetSpec(
    name="cifar10",
    title="CIFAR-10",
    base_url="https://www.cs.toronto.edu/~kriz/",
    files={CIFAR10_ARCHIVE: ("6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",)},
)
CIFAR10_FOLDER = "cifar-10-batches-py"  # the archive's one folder
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_BATCH = "test_batch"


def load_fashion_mnist(root=None, *, download: bool = True):
    """Fashion-MNIST as ``(x_train, y_train), (x_test, y_test)``: uint8 (N, 28, 28), int64 (N,)."""
    return _load(FASHION_MNIST, root, download)


def load_mnist(root=None, *, download: bool = True):
    """MNIST as ``(x_train, y_train), (x_test, y_test)``: uint8 (N, 28, 28), int64 (N,)."""
    return _load(MNIST, root, download)


def load_cifar10(root=None, *, download: bool = True):
    """CIFAR-10 as ``(x_train, y_train), (x_test, y_test)``: uint8 (N, 3, 32, 32) NCHW, int64 (N,).

    ``root`` is a folder holding ``cifar-10-python.tar.gz`` (torchvision's CIFAR10 root keeps it there
    too); the batches are read straight from the verified archive, nothing is extracted. For Keras
    (channels last) use ``x.transpose(0, 2, 3, 1)``.
    """
    ((path, raw),) = fetch(CIFAR10, root, download=download).values()
    return _parse_cifar10(raw, path)


def _load(spec: DatasetSpec, root, download: bool):
    verified = fetch(spec, root, download=download)
    paths = {filename: path for filename, (path, _) in verified.items()}
    arrays = {
        filename: _parse_idx(raw, path, ndim=3 if "images" in filename else 1)
        for filename, (path, raw) in verified.items()
    }
    splits = []
    for images_name, labels_name in ((TRAIN_IMAGES, TRAIN_LABELS), (TEST_IMAGES, TEST_LABELS)):
        x, y = arrays[images_name], arrays[labels_name]
        if x.shape[1:] != (28, 28) or y.shape[0] != x.shape[0]:
            raise ValueError(
                f"{spec.title}: expected images (N, 28, 28) and N labels, found images {x.shape} in "
                f"{paths[images_name]} and labels {y.shape} in {paths[labels_name]}"
            )
        splits.append((x, y.astype(np.int64)))
    return tuple(splits)


def read_idx(path, ndim: int | None = None) -> np.ndarray:
    """Read one gzip-compressed IDX file of unsigned bytes (the MNIST format) into a uint8 array.

    ``ndim`` (if given) is the number of dimensions the file must have: 3 for images, 1 for labels.
    No hash check: the loaders check hashes before they call this.
    """
    path = Path(path)
    return _parse_idx(path.read_bytes(), path, ndim)


def _parse_idx(raw: bytes, path: Path, ndim: int | None) -> np.ndarray:
    try:
        data = gzip.decompress(raw)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ValueError(f"{path} is not a valid gzip file ({exc}); delete it and fetch it again.") from exc
    # Header: two zero bytes, type code 0x08 (unsigned byte), number of dimensions, then each dimension
    # as a big-endian uint32 (http://yann.lecun.com/exdb/mnist/).
    if len(data) < 4:
        raise ValueError(f"{path}: truncated IDX header, expected at least 4 bytes, found {len(data)}")
    found_magic = int.from_bytes(data[:4], "big")
    dims = data[3]
    if data[:3] != b"\x00\x00\x08" or dims == 0 or (ndim is not None and dims != ndim):
        want = f"0x{0x800 + ndim:08x}" if ndim is not None else "0x000008NN"
        raise ValueError(
            f"{path}: wrong IDX magic number, expected {want} (unsigned bytes, {ndim or 'N'} dimensions), "
            f"found 0x{found_magic:08x}"
        )
    header = 4 + 4 * dims
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header, expected {header} bytes, found {len(data)}")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise ValueError(
            f"{path}: IDX shape {shape} needs {expected} bytes, found {len(data)}"
            + (" (file truncated)" if len(data) < expected else " (trailing data)")
        )
    # bytearray makes the array writable, like keras.datasets returns it.
    return np.frombuffer(bytearray(memoryview(data)[header:]), dtype=np.uint8).reshape(shape)


class _BatchUnpickler(pickle.Unpickler):
    """Builds NumPy arrays and Python's own types, nothing else.

    The archive's hash was checked before, so this is a second fence: a wrong pin or a swapped file
    cannot make unpickling call arbitrary functions. The batches (pickled by Python 2 with NumPy 1,
    or re-pickled by NumPy 2) need only these globals.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): np.ndarray.__reduce__(np.empty(0))[0],
        ("numpy._core.multiarray", "_reconstruct"): np.ndarray.__reduce__(np.empty(0))[0],
        ("numpy.core.multiarray", "scalar"): np.int64(0).__reduce__()[0],
        ("numpy._core.multiarray", "scalar"): np.int64(0).__reduce__()[0],
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): codecs.encode,  # how Python 3 writes bytes at pickle protocol 2
    }

    def find_class(self, module, name):
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: a CIFAR-10 batch holds only NumPy arrays, lists and "
                f"strings"
            ) from None


def _parse_cifar10(raw: bytes, path: Path):
    """The six batches of a ``cifar-10-python.tar.gz`` held in ``raw``, read without extracting."""
    wanted = {f"{CIFAR10_FOLDER}/{name}": name for name in (*CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH)}
    batches = {}
    try:
        # Iterate once in archive order: a gzip stream cannot seek back cheaply.
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
            for member in tar:
                name = wanted.get(member.name.removeprefix("./"))
                if name is None or name in batches:
                    continue
                if not member.isfile():
                    raise ValueError(
                        f"{path}: member {member.name} should be a file, found a {member.type!r} entry"
                    )
                batches[name] = _parse_cifar10_batch(tar.extractfile(member).read(), path, member.name)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:  # OSError: gzip.BadGzipFile
        raise ValueError(
            f"{path} is not a valid tar.gz archive ({type(exc).__name__}: {exc}); delete it and fetch it "
            f"again."
        ) from exc
    missing = [member for member, name in wanted.items() if name not in batches]
    if missing:
        raise ValueError(
            f"{path}: expected members {', '.join(wanted)}; missing {', '.join(missing)}. The archive is "
            f"incomplete or not CIFAR-10's python version."
        )
    train = [batches[name] for name in CIFAR10_TRAIN_BATCHES]
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    x_test, y_test = batches[CIFAR10_TEST_BATCH]
    return (x_train, y_train), (x_test, y_test)


def _parse_cifar10_batch(blob: bytes, path: Path, member: str) -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch, a dict with b"data" (N, 3072) uint8 and b"labels" (N ints), as NCHW images and int64
    labels."""
    where = f"{path}: member {member}"
    try:
        # encoding="bytes": Python 2 pickled the batches; their keys and array buffers are byte strings.
        batch = _BatchUnpickler(io.BytesIO(blob), encoding="bytes").load()
    except Exception as exc:  # a damaged pickle fails in many ways: EOFError, UnpicklingError, KeyError, ...
        raise ValueError(f"{where} is not a readable pickled batch ({type(exc).__name__}: {exc})") from exc
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        found = f"keys {list(batch)}" if isinstance(batch, dict) else f"a {type(batch).__name__}"
        raise ValueError(f"{where}: expected a dict with keys b'data' and b'labels', found {found}")
    data, labels = batch[b"data"], batch[b"labels"]
    is_array = isinstance(data, np.ndarray)
    if not is_array or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        found = f"{data.dtype} {data.shape}" if is_array else f"a {type(data).__name__}"
        raise ValueError(f"{where}: expected data uint8 (N, 3072) (N images of 3x32x32), found {found}")
    n = data.shape[0]
    try:
        labels = np.asarray(labels)
    except (ValueError, TypeError) as exc:  # e.g. a ragged list
        raise ValueError(f"{where}: expected {n} integer labels, found unreadable labels ({exc})") from exc
    if labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise ValueError(
            f"{where}: expected integer labels of shape ({n},), found {labels.dtype} {labels.shape}"
        )
    if n and (labels.min() < 0 or labels.max() >= len(CIFAR10_CLASSES)):
        raise ValueError(f"{where}: expected labels 0..9, found values from {labels.min()} to {labels.max()}")
    # Each row is 1024 red, then 1024 green, then 1024 blue values, each channel row by row: NCHW as is.
    return data.reshape(n, 3, 32, 32), labels.astype(np.int64)
