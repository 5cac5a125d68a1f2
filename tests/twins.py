"""Helpers for the tests that compare a NumPy layer with its torch twin (not part of the companion package)."""
from __future__ import annotations

import numpy as np
import torch


def assert_float32_forward_matches(layer, twin, x, *, atol: float) -> None:
    """``layer`` (float32 weights) and ``twin`` (same weights) give the same float32 output for ``x``."""
    x32 = np.asarray(x).astype(np.float32)
    out = layer(x32)
    assert out.dtype == np.float32
    with torch.no_grad():
        out_t = twin(torch.from_numpy(x32)).numpy()
    np.testing.assert_allclose(out, out_t, rtol=1e-5, atol=atol)
