"""Finding, downloading and verifying data files; pooch does the download, the hashing and the atomic move.

A data set is a :class:`DatasetSpec`: its files, the SHA-256 digests each may have, its canonical address and
the system folders a distribution installs it into. :func:`fetch` looks for each file, in order, in

1. ``root``, if the caller gives one (then downloads go there and the cache is not looked at, as
   torchvision's ``root``);
2. the system data folders (Debian's ``dataset-fashion-mnist`` installs ``/usr/share/datasets/fashion-mnist/``);
3. the cache, if no ``root`` was given: ``$COMPANION_DATA/<name>``, else ``pooch.os_cache("companion")/<name>``
   (``~/.cache/companion/<name>`` on Linux);
4. if ``download=True``, the canonical address. ``pooch.retrieve`` streams the file into a temporary file in
   the target folder, checks its SHA-256, and only then moves it into place; on any failure (network error,
   wrong hash, Ctrl-C) it deletes the temporary file, so no partial file is ever left.

Every file, found or downloaded, is hashed again when it is read, and the parsers get those very bytes.
Without the files and without network, :class:`DatasetNotFoundError` says which files are missing, where they
were looked for and how to provide them.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import warnings
from pathlib import Path

with warnings.catch_warnings():
    # pooch imports tqdm.auto, which warns on stderr in a Jupyter kernel without ipywidgets ("IProgress not
    # found"); a notebook must not write to stderr, and our downloads use no progress bar.
    warnings.filterwarnings("ignore", message="IProgress not found")
    import pooch

__all__ = ["DatasetSpec", "DatasetNotFoundError", "ChecksumError", "cache_dir", "search_folders", "locate",
           "fetch"]


class DatasetNotFoundError(FileNotFoundError):
    """The data files are neither on disk nor downloadable (offline, or ``download=False``)."""


class ChecksumError(ValueError):
    """A data file's SHA-256 is not one of the pinned values."""


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Where a data set lives and what its files must hash to.

    ``files`` maps each file name to the SHA-256 digests accepted for it. The first is that of the file at
    ``base_url`` (downloads are checked against it); more follow where a trusted distributor re-packed the
    file, as Debian did for Fashion-MNIST.
    """

    name: str  # folder name under the cache
    title: str  # for messages
    base_url: str  # canonical address: base_url + file name
    files: dict[str, tuple[str, ...]]
    system_dirs: tuple[str, ...] = ()
    install_hint: str | None = None  # e.g. a package to install

    def url(self, filename: str) -> str:
        return self.base_url + filename


# The one network access: pooch's requests-based downloader, without a progress bar (a notebook's stderr
# must stay empty). Tests replace it so that nothing reaches beyond 127.0.0.1.
_downloader = pooch.HTTPDownloader(progressbar=False, timeout=60)


def cache_dir(name: str) -> Path:
    """``$COMPANION_DATA/<name>`` if that variable is set, else ``pooch.os_cache("companion")/<name>``."""
    base = os.environ.get("COMPANION_DATA")
    return (Path(base).expanduser() if base else pooch.os_cache("companion")) / name


def search_folders(spec: DatasetSpec, root=None) -> list[Path]:
    """The folders looked in, in order: ``root`` then the system folders, or the system folders then the cache."""
    system = [Path(folder) for folder in spec.system_dirs]
    if root is not None:
        return [Path(root).expanduser(), *system]
    return [*system, cache_dir(spec.name)]


def download_folder(spec: DatasetSpec, root=None) -> Path:
    """Where missing files are downloaded to: ``root`` if given, else the cache."""
    return Path(root).expanduser() if root is not None else cache_dir(spec.name)


def locate(spec: DatasetSpec, root=None) -> dict[str, Path]:
    """The files of ``spec`` that are on disk: each in the first search folder that holds it."""
    folders = search_folders(spec, root)
    found = {}
    for filename in spec.files:
        path = next((folder / filename for folder in folders if (folder / filename).is_file()), None)
        if path is not None:
            found[filename] = path
    return found


def fetch(spec: DatasetSpec, root=None, *, download: bool = True) -> dict[str, tuple[Path, bytes]]:
    """Each file of ``spec`` as ``(path, bytes)``, found on disk or downloaded, once its SHA-256 matched.

    Parsers get these very bytes, so what they parse (or unpickle) is what was hashed.
    """
    paths = locate(spec, root)
    missing = [filename for filename in spec.files if filename not in paths]
    if missing:
        paths.update(_download_missing(spec, missing, root, download))
    return {filename: (paths[filename], _read_verified(paths[filename], spec.files[filename]))
            for filename in spec.files}


def _download_missing(spec: DatasetSpec, missing: list[str], root, download: bool) -> dict[str, Path]:
    if not download:
        raise _not_found(spec, missing, root, "Downloading is off (download=False).", download_off=True)
    target = download_folder(spec, root)
    downloaded = {}
    for filename in missing:
        try:
            downloaded[filename] = _download(spec, filename, target)
        except OSError as exc:  # requests' errors are OSErrors: no network, refused, reset, cut short, HTTP 404
            still_missing = [name for name in missing if name not in downloaded]
            reason = f"Downloading {spec.url(filename)} failed ({type(exc).__name__}: {exc})."
            raise _not_found(spec, still_missing, root, reason) from exc
    return downloaded


def _download(spec: DatasetSpec, filename: str, folder: Path) -> Path:
    """One file from the canonical address into ``folder``, verified by pooch before it is moved into place."""
    url = spec.url(filename)
    try:
        with _pooch_quiet():
            return Path(pooch.retrieve(url, known_hash=f"sha256:{spec.files[filename][0]}", fname=filename,
                                       path=folder, downloader=_downloader))
    except OSError:  # some of requests' errors are ValueErrors too (InvalidURL): not a hash mismatch
        raise
    except ValueError as exc:  # pooch: the downloaded file's hash is not the known one (and it was deleted)
        raise ChecksumError(
            f"downloaded {url} does not match its pinned SHA-256 ({exc}). The download was corrupted or the "
            f"file changed upstream; nothing was saved. Try again, or copy a good {filename} into {folder}."
        ) from exc


@contextlib.contextmanager
def _pooch_quiet():
    """pooch logs each download at INFO level to stderr, which a notebook would show as an error."""
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _not_found(spec: DatasetSpec, missing: list[str], root, reason: str, *,
               download_off: bool = False) -> DatasetNotFoundError:
    target = download_folder(spec, root)
    ways = []
    if spec.install_hint:
        ways.append(f"run `{spec.install_hint}`")
    ways.append(f"download {', '.join(spec.url(name) for name in missing)} into {target}")
    ways.append("pass root= a folder that holds them")
    if download_off:
        ways.append("call again with download=True and network access")
    folders = ", ".join(map(str, search_folders(spec, root)))
    return DatasetNotFoundError(
        f"{spec.title}: missing {', '.join(missing)}; looked in {folders}. {reason} "
        f"To provide them: {'; or '.join(ways)}."
    )


def _read_verified(path: Path, sha256s: tuple[str, ...]) -> bytes:
    raw = path.read_bytes()
    actual = hashlib.sha256(raw).hexdigest()
    if actual not in sha256s:
        raise ChecksumError(
            f"{path} has SHA-256 {actual}, expected {' or '.join(sha256s)}. The file is damaged or not "
            f"the right one: delete it so that it is downloaded again, or replace it with a good copy."
        )
    return raw
