"""Gradient attributions from scratch (chapter 12): which input pixels a classifier's score depends on.

For a model ``f`` and the score ``f_c(x)`` of class ``c``:

- *saliency* (Simonyan, Vedaldi and Zisserman, 2014): ``|d f_c / d x|``;
- *gradient x input*: ``x * d f_c / d x``;
- *integrated gradients* (Sundararajan, Taly and Yan, 2017): ``(x - x') * integral_0^1 d f_c(x' + a (x - x')) / d x da``
  from a baseline ``x'`` (a black image), the integral by Gauss-Legendre quadrature; its attributions add up to
  ``f_c(x) - f_c(x')`` ("completeness"), up to the error of the quadrature.

Captum's ``Saliency``, ``InputXGradient`` and ``IntegratedGradients`` (its default method, Gauss-Legendre) compute the
same (tests/test_attribution.py). Captum's ``method="riemann_trapezoid"`` is not the trapezoidal rule: its weights
are ``1/n`` (ends ``1/(2n)``) for ``n`` points, which sum to ``(n - 1)/n``, so its attributions are ``(n - 1)/n`` of
the rule's.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["gradient_x_input", "input_gradients", "integrated_gradients", "saliency"]


def _check_inputs(x: torch.Tensor, target) -> torch.Tensor:
    if not torch.is_tensor(x) or not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor (a batch of inputs), got {type(x).__name__}")
    target = torch.as_tensor(target, dtype=torch.long)
    if target.dim() == 0:
        target = target.expand(len(x))
    if target.shape != (len(x),):
        raise ValueError(f"target must be one class or one class per input, shape ({len(x)},); got {tuple(target.shape)}")
    return target


def input_gradients(model: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    """``d f_c(x_i) / d x_i`` for every input of the batch, ``c`` = ``target`` (one class, or one per input)."""
    target = _check_inputs(x, target)
    x = x.detach().requires_grad_(True)
    scores = model(x).gather(1, target.view(-1, 1)).sum()     # inputs do not interact: the sum's gradient is each one's
    (gradient,) = torch.autograd.grad(scores, x)
    return gradient


def saliency(model: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    """The absolute gradient of the class score with respect to the input."""
    return input_gradients(model, x, target).abs()


def gradient_x_input(model: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    """The input times the gradient of the class score."""
    return x.detach() * input_gradients(model, x, target)


def integrated_gradients(model: nn.Module, x: torch.Tensor, target, baseline: torch.Tensor | None = None,
                         steps: int = 50, method: str = "gausslegendre") -> torch.Tensor:
    """``(x - x') * integral_0^1 of the gradient at x' + a (x - x') da``; the baseline ``x'`` defaults to zeros.

    The integral is a weighted sum of the gradients at ``steps`` points of the path: ``"gausslegendre"`` (Captum's
    default) takes the Gauss-Legendre nodes and weights on [0, 1]; ``"trapezoid"`` the textbook trapezoidal rule on
    ``steps - 1`` equal intervals, the two ends weighted one half.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps must be an integer >= 2 (points on the path), got {steps!r}")
    target = _check_inputs(x, target)
    baseline = torch.zeros_like(x) if baseline is None else baseline.to(x)
    if baseline.shape != x.shape:
        raise ValueError(f"baseline must have the shape of x, {tuple(x.shape)}; got {tuple(baseline.shape)}")
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(steps)   # on [-1, 1]: move to [0, 1]
        alphas, weights = (nodes + 1) / 2, weights / 2
    elif method == "trapezoid":
        alphas = np.linspace(0.0, 1.0, steps)
        weights = np.full(steps, 1.0 / (steps - 1))
        weights[[0, -1]] /= 2
    else:
        raise ValueError(f"method must be 'gausslegendre' or 'trapezoid', got {method!r}")
    total = torch.zeros_like(x)
    for alpha, weight in zip(alphas.tolist(), weights.tolist()):
        total += weight * input_gradients(model, baseline + alpha * (x - baseline), target)
    return (x - baseline).detach() * total
