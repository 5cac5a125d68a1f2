"""Data augmentation for image batches in NumPy: random horizontal flips, random shifts and random erasing.

Each function takes a batch of images, ``(N, H, W)`` (Fashion-MNIST's layout) or ``(N, C, H, W)``, and a
``numpy.random.Generator``, and returns a new batch of the same shape and dtype; the input is not changed.
Each image gets its own random draw. Applied to the training batches only, a fresh draw every epoch.

Taught in chapter 5, section 5.8.
"""
from __future__ import annotations

import math

import numpy as np

from ..nn.checks import number_in_range, positive_int

__all__ = ["random_horizontal_flip", "random_shift", "random_erasing", "augment_batch"]


def _check_images(images, owner: str) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim not in (3, 4) or images.shape[0] == 0:
        raise ValueError(f"{owner} expected a non-empty batch of images of shape (N, H, W) or (N, C, H, W), "
                         f"got {images.shape}")
    return images


def _check_rng(rng, owner: str) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{owner} needs rng=np.random.Generator (e.g. np.random.default_rng(0)), "
                        f"got {type(rng).__name__}")
    return rng


def random_horizontal_flip(images, rng, p=0.5):
    """Mirror each image left to right with probability ``p`` (``torchvision.transforms.RandomHorizontalFlip``).

    Taught in chapter 5, section 5.8.
    """
    images = _check_images(images, "random_horizontal_flip")
    rng = _check_rng(rng, "random_horizontal_flip")
    p = number_in_range(p, "p", "random_horizontal_flip", low=0.0, high=1.0 + 1e-12)
    flip = rng.random(len(images)) < p
    return np.where(flip.reshape((-1,) + (1,) * (images.ndim - 1)), images[..., ::-1], images)  # width: last axis


def random_shift(images, rng, max_shift=2, fill=0):
    """Translate each image by a random whole number of pixels, ``dy`` and ``dx`` each uniform in
    ``[-max_shift, max_shift]``; the pixels shifted in are ``fill``. The same as padding by ``max_shift`` and
    cropping at a random place (``torchvision.transforms.RandomCrop(size, padding=max_shift)``).

    Taught in chapter 5, section 5.8.
    """
    images = _check_images(images, "random_shift")
    rng = _check_rng(rng, "random_shift")
    s = int(max_shift)
    if s < 0 or s != max_shift:
        raise ValueError(f"random_shift: max_shift must be a non-negative integer, got {max_shift!r}")
    if s == 0:
        return images.copy()
    n, h, w = images.shape[0], images.shape[-2], images.shape[-1]
    pad = [(0, 0)] * (images.ndim - 2) + [(s, s), (s, s)]
    padded = np.pad(images, pad, constant_values=fill)
    top, left = rng.integers(0, 2 * s + 1, size=(2, n))  # where each crop starts in the padded image
    rows = (top[:, None] + np.arange(h))[:, :, None]  # (N, H, 1)
    cols = (left[:, None] + np.arange(w))[:, None, :]  # (N, 1, W)
    index = np.arange(n)[:, None, None]
    if images.ndim == 3:
        return padded[index, rows, cols]
    return padded[index, :, rows, cols].transpose(0, 3, 1, 2)  # advanced indices first: (N, H, W, C) -> NCHW


def random_erasing(images, rng, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, attempts=10):
    """Random erasing (Zhong et al., 2020): with probability ``p``, fill a random rectangle of each image.

    The rectangle's area is a fraction of the image uniform in ``scale``, its aspect ratio ``h / w`` is drawn
    log-uniformly from ``ratio`` (as ``torchvision.transforms.RandomErasing``; the paper draws it uniformly),
    and its position uniformly; a draw that does not fit is retried up to ``attempts`` times, then the image
    is left alone. ``value`` is a number, or ``"random"`` for uniform noise between the batch's minimum and
    maximum (the paper's choice).

    Taught in chapter 5, section 5.8.
    """
    images = _check_images(images, "random_erasing")
    rng = _check_rng(rng, "random_erasing")
    p = number_in_range(p, "p", "random_erasing", low=0.0, high=1.0 + 1e-12)
    if not (0 < scale[0] <= scale[1] <= 1) or not (0 < ratio[0] <= ratio[1]):
        raise ValueError(f"random_erasing: expected 0 < scale[0] <= scale[1] <= 1 and 0 < ratio[0] <= ratio[1], "
                         f"got scale={scale}, ratio={ratio}")
    attempts = positive_int(attempts, "attempts", "random_erasing")
    n, h, w = images.shape[0], images.shape[-2], images.shape[-1]
    area = rng.uniform(scale[0], scale[1], (n, attempts)) * h * w
    aspect = np.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1]), (n, attempts)))
    eh = np.round(np.sqrt(area * aspect)).astype(int)
    ew = np.round(np.sqrt(area / aspect)).astype(int)
    fits = (eh >= 1) & (ew >= 1) & (eh < h) & (ew < w)
    first = np.argmax(fits, axis=1)  # the first attempt that fits (0 if none does: masked out below)
    rows = np.arange(n)
    eh, ew = eh[rows, first], ew[rows, first]
    erase = (rng.random(n) < p) & fits[rows, first]
    top = np.floor(rng.random(n) * (h - eh + 1)).astype(int)
    left = np.floor(rng.random(n) * (w - ew + 1)).astype(int)
    ys, xs = np.arange(h)[None, :, None], np.arange(w)[None, None, :]
    inside = ((ys >= top[:, None, None]) & (ys < (top + eh)[:, None, None])
              & (xs >= left[:, None, None]) & (xs < (left + ew)[:, None, None]) & erase[:, None, None])  # (N, H, W)
    if images.ndim == 4:
        inside = np.broadcast_to(inside[:, None], images.shape)
    out = images.copy()
    if isinstance(value, str):
        if value != "random":
            raise ValueError(f"random_erasing: value must be a number or 'random', got {value!r}")
        noise = rng.uniform(float(images.min()), float(images.max()), images.shape).astype(images.dtype)
        out[inside] = noise[inside]
    else:
        out[inside] = value
    return out


def augment_batch(images, rng, flip=0.5, max_shift=2, erase=0.0):
    """The chapter's recipe: a random horizontal flip (probability ``flip``), a random shift of up to
    ``max_shift`` pixels, then random erasing (probability ``erase``); 0 switches a step off.

    Taught in chapter 5, section 5.8.
    """
    if flip:
        images = random_horizontal_flip(images, rng, p=flip)
    if max_shift:
        images = random_shift(images, rng, max_shift=max_shift)
    if erase:
        images = random_erasing(images, rng, p=erase)
    return images
