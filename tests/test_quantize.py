"""The from-scratch quantizer (companion.nn.quantize) against torch.ao.quantization on the same tensors: the
same scales, zero points and integers, per tensor and per channel, symmetric and affine."""
import warnings

import numpy as np
import pytest

from companion.nn.quantize import QParams, dequantize, qparams, quantize

torch = pytest.importorskip("torch")
from torch.ao.quantization.observer import MinMaxObserver, PerChannelMinMaxObserver  # noqa: E402

TORCH_DTYPE = {"qint8": torch.qint8, "quint8": torch.quint8}


@pytest.fixture(autouse=True)
def _quiet():
    # torch.ao.quantization and quantized tensors are deprecated in favour of torchao; they still compute
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def torch_reference(x, symmetric, axis, dtype):
    qscheme = {(True, None): torch.per_tensor_symmetric, (False, None): torch.per_tensor_affine,
               (True, 0): torch.per_channel_symmetric, (False, 0): torch.per_channel_affine}[symmetric, axis]
    t = torch.from_numpy(x)
    if axis is None:
        observer = MinMaxObserver(dtype=TORCH_DTYPE[dtype], qscheme=qscheme)
        observer(t)
        scale, zero_point = observer.calculate_qparams()
        q = torch.quantize_per_tensor(t, float(scale), int(zero_point), TORCH_DTYPE[dtype])
    else:
        observer = PerChannelMinMaxObserver(ch_axis=axis, dtype=TORCH_DTYPE[dtype], qscheme=qscheme)
        observer(t)
        scale, zero_point = observer.calculate_qparams()
        q = torch.quantize_per_channel(t, scale.double(), zero_point, axis, TORCH_DTYPE[dtype])
    return scale.numpy(), zero_point.numpy(), q.int_repr().numpy(), q.dequantize().numpy()


CASES = [(symmetric, axis, dtype) for symmetric in (True, False) for axis in (None, 0) for dtype in ("qint8", "quint8")]


@pytest.mark.parametrize("symmetric, axis, dtype", CASES)
@pytest.mark.parametrize("shift", [0.0, 0.7])
def test_equals_torch_observers_and_kernels(symmetric, axis, dtype, shift):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(16, 40)) * rng.uniform(0.1, 3.0, size=(16, 1)) + shift).astype(np.float32)
    params = qparams(x, symmetric=symmetric, axis=axis, dtype=dtype)
    scale, zero_point, q_torch, x_torch = torch_reference(x, symmetric, axis, dtype)
    np.testing.assert_array_equal(params.scale, np.asarray(scale, dtype=np.float32).reshape(params.scale.shape))
    np.testing.assert_array_equal(params.zero_point, np.asarray(zero_point).reshape(params.zero_point.shape))
    q = quantize(x, params)
    assert q.dtype == (np.int8 if dtype == "qint8" else np.uint8)
    np.testing.assert_array_equal(q, q_torch)
    np.testing.assert_array_equal(dequantize(q, params), x_torch)


def test_dynamic_quantization_of_a_linear_layer_uses_the_per_tensor_symmetric_int8_weight():
    from torch import nn
    from torch.ao.quantization import quantize_dynamic

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(30, 12))
    quantized = quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    weight = quantized[0].weight()
    params = qparams(model[0].weight.detach().numpy(), symmetric=True)
    assert float(params.scale) == pytest.approx(weight.q_scale(), rel=0, abs=0)
    assert int(params.zero_point) == weight.q_zero_point() == 0
    np.testing.assert_array_equal(quantize(model[0].weight.detach().numpy(), params), weight.int_repr().numpy())


def test_round_trip_error_is_at_most_half_a_step_inside_the_range():
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 3, size=1000).astype(np.float32)
    for symmetric in (True, False):
        params = qparams(x, symmetric=symmetric)
        error = np.abs(dequantize(quantize(x, params), params) - x)
        assert error.max() <= params.scale / 2 * (1 + 1e-5), (symmetric, error.max(), params.scale)


def test_zero_is_exact_and_an_all_zero_tensor_gets_the_smallest_scale():
    x = np.array([-1.3, 0.0, 0.2, 2.9], dtype=np.float32)
    for symmetric in (True, False):
        for dtype in ("qint8", "quint8"):
            params = qparams(x, symmetric=symmetric, dtype=dtype)
            assert dequantize(quantize(x, params), params)[1] == 0.0
    params = qparams(np.zeros(5, dtype=np.float32))
    assert params.scale == np.float32(np.finfo(np.float32).eps)
    np.testing.assert_array_equal(quantize(np.zeros(5), params), 0)


def test_values_outside_the_range_saturate():
    params = qparams(np.array([-1.0, 1.0], dtype=np.float32))
    np.testing.assert_array_equal(quantize(np.array([-5.0, 5.0]), params), [-128, 127])


def test_bad_input_is_named():
    x = np.ones((3, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="dtype must be one of"):
        qparams(x, dtype="int4")
    with pytest.raises(ValueError, match="axis 2 is out of range for an array of shape"):
        qparams(x, axis=2)
    with pytest.raises(ValueError, match="empty array"):
        qparams(np.zeros(0))
    with pytest.raises(ValueError, match="inf or nan"):
        qparams(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="3 scales for 4 channels along axis 1"):
        quantize(x, qparams(x, axis=0)._replace(axis=1))
    with pytest.raises(ValueError, match="expects integers"):
        dequantize(x, qparams(x))
    assert isinstance(qparams(x), QParams)


@pytest.mark.skipif("fbgemm" not in torch.backends.quantized.supported_engines,
                    reason="the tie rule checked here is that of torch's x86 (FBGEMM) kernels")
def test_exact_ties_round_as_torch_does():
    # scale 2**-7 and an odd zero point (-51): x / s = k + 0.5 is an exact tie, and where z is added decides it
    x = np.concatenate([[-77 / 128, 178 / 128], (np.arange(-70, 170, 7) + 0.5) / 128]).astype(np.float32)
    params = qparams(x, symmetric=False)
    assert params.scale == np.float32(2.0 ** -7) and params.zero_point == -51
    reference = torch.quantize_per_tensor(torch.from_numpy(x), float(params.scale), int(params.zero_point), torch.qint8)
    np.testing.assert_array_equal(quantize(x, params), reference.int_repr().numpy())
    rows = np.stack([x, x])                                    # the same values, two channels
    per_channel = qparams(rows, symmetric=False, axis=0)
    reference = torch.quantize_per_channel(torch.from_numpy(rows), torch.from_numpy(per_channel.scale).double(),
                                           torch.from_numpy(per_channel.zero_point), 0, torch.qint8)
    np.testing.assert_array_equal(quantize(rows, per_channel), reference.int_repr().numpy())
