"""``FastConv2d``: the tuned twin of :class:`companion.nn.conv.Conv2d` (same parameters, same results).

The teaching ``Conv2d`` (chapter 6, section 6.8) computes three cross-correlations and lets ``np.einsum`` copy
the windows each time. This version computes the same three products with explicit im2col, arranged so that
each is one large matrix product and the data movement around them is as cheap as NumPy allows:

- the input patches of all images become the columns of one matrix, channel-first ``(C*kh*kw, N*Ho*Wo)``, built
  with one strided copy per kernel offset (loops over the ``kh*kw`` offsets only, never over pixels or images);
- forward ``y = W cols``, weight gradient ``dW = dy cols^T``, input gradient ``dcols = W^T dy``: one product
  each, which threads well even on a busy machine;
- ``dcols`` is folded back onto the image (col2im) with one vectorised add per kernel offset. For a stride-1
  layer the upstream gradient is laid on the whole padded grid, so that each offset's add is one contiguous
  slice of the flattened padded input (it adds at memory speed); otherwise on the output grid, with strided views;
- large work arrays are kept between calls (a fresh array that large costs page faults every step).

Tested equal to ``Conv2d`` (forward and all gradients, float64, many shapes) and to ``torch.nn.Conv2d``; it is
what the chapter's NumPy CNN trains with and what ``benchmarks/bench_conv2d.py`` times.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .conv import Conv2d, check_nchw, check_window_fits, conv_output_size

__all__ = ["FastConv2d", "folds_on_padded_grid"]


class _Geometry(NamedTuple):
    """Sizes of one call: input (h, w), output (ho, wo), padded input (hp, wp) and the grid (hg, wg) on which
    the input gradient is computed; ``length`` of a flattened channel of the padded buffer, with slack."""
    n: int
    h: int
    w: int
    ho: int
    wo: int
    hp: int
    wp: int
    hg: int
    wg: int
    length: int


def folds_on_padded_grid(stride: tuple[int, int], padded: tuple[int, int], out: tuple[int, int]) -> bool:
    """Whether the input gradient is computed on the padded grid (contiguous adds) rather than the output grid.

    Only for stride 1, and only while the extra positions (where the gradient is zero) cost little: at most half
    again as many as the output has.
    """
    return stride == (1, 1) and padded[0] * padded[1] <= 1.5 * out[0] * out[1]


def _inside(shift: int, stride: int, size: int, count: int) -> tuple[int, int]:
    """The range ``[first, stop)`` of output positions ``r < count`` whose input position ``r * stride + shift``
    lies inside ``[0, size)``."""
    first = max(0, (stride - 1 - shift) // stride)  # ceil(-shift / stride), at least 0
    stop = min(count, (size - 1 - shift) // stride + 1)
    return first, max(first, stop)


class FastConv2d(Conv2d):
    """:class:`Conv2d` with a tuned im2col forward and backward pass; same arguments, parameters and results."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._scratch = {}

    def _geometry(self, x: np.ndarray) -> _Geometry:
        n, _, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        ho, wo = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
        hp, wp = h + 2 * ph, w + 2 * pw
        hg, wg = (hp, wp) if folds_on_padded_grid(self.stride, (hp, wp), (ho, wo)) else (ho, wo)
        # Slack after the last image so that every offset's slice of length n * hp * wp stays in the buffer.
        length = n * hp * wp + (kh - 1) * wp + (kw - 1)
        return _Geometry(n, h, w, ho, wo, hp, wp, hg, wg, length)

    def _work_array(self, name: str, shape: tuple, dtype, zeros: bool = False, key=None) -> np.ndarray:
        """A work array kept between calls, remade when its shape, dtype or ``key`` changes. Callers write only
        the parts they use, so the rest of a ``zeros`` array stays zero; ``key`` names what decides those parts
        (the input's shape)."""
        dtype = np.dtype(dtype)
        entry = self._scratch.get(name)
        if entry is None or entry[0].shape != shape or entry[0].dtype != dtype or entry[1] != key:
            entry = ((np.zeros if zeros else np.empty)(shape, dtype=dtype), key)
            self._scratch[name] = entry
        return entry[0]

    def _offset_view(self, padded: np.ndarray, geom: _Geometry, i: int, j: int) -> np.ndarray:
        """``(rows, N, Hg, Wg)`` view of a channel-first flattened padded array at kernel offset ``(i, j)``."""
        (sh, sw), start = self.stride, i * geom.wp + j
        view = padded[:, start:start + geom.n * geom.hp * geom.wp].reshape(-1, geom.n, geom.hp, geom.wp)
        return view[:, :, ::sh, ::sw][:, :, :geom.hg, :geom.wg]

    def forward(self, x):
        x = np.asarray(x, dtype=self.weight.data.dtype)
        check_nchw(x, self.in_channels, repr(self))
        check_window_fits(x, self.kernel_size, self.padding, repr(self))
        geom = self._geometry(x)
        dtype, (kh, kw), (sh, sw), (ph, pw) = self.weight.data.dtype, self.kernel_size, self.stride, self.padding
        o, c, n, ho, wo = self.out_channels, self.in_channels, geom.n, geom.ho, geom.wo

        # im2col: cols[(c, i, j), (n, r, s)] = x[n, c, r*sh + i - ph, s*sw + j - pw], zero where that falls in the
        # padding. Only the positions inside the input are written, so the padding stays zero in the kept array
        # (remade when the input's shape changes).
        cols = self._work_array("cols", (c * kh * kw, n * ho * wo), dtype, zeros=True, key=x.shape)
        blocks = cols.reshape(c, kh, kw, n, ho, wo)
        x_cf = x.transpose(1, 0, 2, 3)  # channel-first view (C, N, H, W)
        for i in range(kh):
            r0, r1 = _inside(i - ph, sh, geom.h, ho)
            for j in range(kw):
                s0, s1 = _inside(j - pw, sw, geom.w, wo)
                if r0 < r1 and s0 < s1:
                    blocks[:, i, j, :, r0:r1, s0:s1] = x_cf[:, :, r0 * sh + i - ph:(r1 - 1) * sh + i - ph + 1:sh,
                                                            s0 * sw + j - pw:(s1 - 1) * sw + j - pw + 1:sw]

        # One product for all positions of all images: (O, C*kh*kw) @ (C*kh*kw, N*Ho*Wo).
        y = self._work_array("output", (o, n * ho * wo), dtype)
        np.matmul(self.weight.data.reshape(o, -1), cols, out=y)
        y = y.reshape(o, n, ho, wo).transpose(1, 0, 2, 3)
        out = np.empty((n, o, ho, wo), dtype=dtype)
        if self.bias is not None:
            np.add(y, self.bias.data[:, None, None], out=out)  # bias and the copy to NCHW in one pass
        else:
            np.copyto(out, y)
        self._cache = (cols, geom)
        return out

    def backward(self, grad_out):
        cols, geom = self._cached("_cache")
        n, ho, wo, hg, wg, hp, wp = geom.n, geom.ho, geom.wo, geom.hg, geom.wg, geom.hp, geom.wp
        o, c, (kh, kw), (ph, pw) = self.out_channels, self.in_channels, self.kernel_size, self.padding
        grad_out = self._check_grad_shape(grad_out, (n, o, ho, wo))
        dtype = self.weight.data.dtype

        # The upstream gradient, channel-first like cols: (O, N*Ho*Wo).
        dout = self._work_array("grad_output", (o, n, ho, wo), dtype)
        dout[...] = grad_out.transpose(1, 0, 2, 3)
        dout = dout.reshape(o, n * ho * wo)
        if self.bias is not None:
            self.bias.grad += dout.sum(axis=1, dtype=dtype)  # dl/db[o] = sum over n, r, s
        self.weight.grad += (cols @ dout.T).T.reshape(self.weight.shape)  # dl/dW = dout cols^T

        # dl/dcols = W^T dout, its rows ordered (i, j, c) so that the block of kernel offset (i, j) is C contiguous
        # rows, then folded back onto the padded input (col2im): overlapping patches add up.
        if (hg, wg) != (ho, wo):
            # Padded grid (stride 1): zeros at the positions outside (Ho, Wo), never written, so they stay zero in
            # the kept array; the fold's slices then land where they belong.
            grid = self._work_array("grad_grid", (o, n, hg, wg), dtype, zeros=True)
            grid[:, :, :ho, :wo] = dout.reshape(o, n, ho, wo)
            dout = grid.reshape(o, n * hg * wg)
        w_t = np.ascontiguousarray(self.weight.data.transpose(2, 3, 1, 0)).reshape(kh * kw * c, o)
        dcols = self._work_array("grad_cols", (kh * kw * c, n * hg * wg), dtype)
        np.matmul(w_t, dout, out=dcols)
        dx_padded = self._work_array("grad_input", (c, geom.length), dtype)
        dx_padded.fill(0)
        size = n * hp * wp
        for i in range(kh):
            for j in range(kw):
                block = dcols[(i * kw + j) * c:(i * kw + j + 1) * c]
                if (hg, wg) == (hp, wp):  # on the padded grid: the slice starting at i * Wp + j, as 2-D arrays
                    view = dx_padded[:, i * wp + j:i * wp + j + size]
                    np.add(view, block, out=view)
                else:
                    view = self._offset_view(dx_padded, geom, i, j)
                    np.add(view, block.reshape(c, n, hg, wg), out=view)
        dx = dx_padded[:, :size].reshape(c, n, hp, wp)[:, :, ph:ph + geom.h, pw:pw + geom.w]
        return dx.transpose(1, 0, 2, 3).copy()  # a new array (never a view of the work array), NCHW
