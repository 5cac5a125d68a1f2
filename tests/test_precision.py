"""Floating-point formats from their bits (companion.nn.precision) against torch.finfo and torch's casts."""
import numpy as np
import pytest

from companion.nn.precision import format_info, round_to_format

torch = pytest.importorskip("torch")

TORCH = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


@pytest.mark.parametrize("name", ["fp32", "fp16", "bf16"])
def test_limits_equal_torch_finfo(name):
    info, finfo = format_info(name), torch.finfo(TORCH[name])
    assert info.bits == finfo.bits
    assert info.max == finfo.max
    assert info.eps == finfo.eps
    assert info.smallest_normal == finfo.smallest_normal
    assert info.smallest_subnormal == float(torch.tensor(0, dtype=TORCH[name]).nextafter(
        torch.tensor(1, dtype=TORCH[name])))


def awkward_values():
    rng = np.random.default_rng(0)
    parts = [rng.normal(size=2000) * 10.0 ** rng.uniform(-9, 6, size=2000),     # every magnitude, both signs
             rng.uniform(60000, 70000, size=200), -rng.uniform(3.3e38, 3.4e38, size=50),   # fp16 / bf16 overflow
             1 + np.array([1, 3, 5]) * 2.0 ** -11, 1 + np.array([1, 3]) * 2.0 ** -8,     # exact ties
             65504 + np.array([15.0, 16.0, 17.0]), [0.0, -0.0, np.inf, -np.inf, 2.0 ** -25, 3 * 2.0 ** -26]]
    return np.concatenate([np.asarray(p, dtype=np.float64) for p in parts]).astype(np.float32)


@pytest.mark.parametrize("name", ["fp32", "fp16", "bf16"])
def test_rounding_equals_torch_casts(name):
    x = awkward_values()
    ours = round_to_format(x, name)
    theirs = torch.from_numpy(x).to(TORCH[name]).float().numpy()
    np.testing.assert_array_equal(ours, theirs)
    assert np.array_equal(np.signbit(ours), np.signbit(theirs))


def test_nan_stays_nan_and_fp16_matches_numpy():
    assert np.isnan(round_to_format([np.nan], "bf16")[0])
    x = awkward_values()
    with np.errstate(over="ignore"):                      # numpy warns on the values that become inf
        cast = x.astype(np.float16).astype(np.float32)
    np.testing.assert_array_equal(round_to_format(x, "fp16"), cast)


def test_what_the_chapter_shows():
    assert round_to_format([65519.0, 65520.0], "fp16").tolist() == [65504.0, np.inf]    # overflow past max
    assert round_to_format([1e-8], "fp16")[0] == 0.0                                   # underflow
    assert round_to_format([1 + 2.0 ** -8], "bf16")[0] == 1.0                          # below bf16's precision


def test_unknown_format():
    with pytest.raises(ValueError, match="unknown format 'fp8'"):
        format_info("fp8")
