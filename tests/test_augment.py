"""companion.data.augment (flips, shifts, random erasing on NumPy image batches), companion.data.splits
(k-fold indices) and companion.training.EarlyStopping."""
import numpy as np
import pytest

from companion.data import augment_batch, kfold_indices, random_erasing, random_horizontal_flip, random_shift
from companion.training import EarlyStopping


def batch(shape=(64, 28, 28), seed=0):
    return np.random.default_rng(seed).integers(1, 256, shape).astype(np.uint8)  # no zero pixels


# --- flips ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(64, 28, 28), (16, 3, 8, 10)])
def test_flip_mirrors_some_images_and_leaves_the_others(shape):
    x = batch(shape)
    out = random_horizontal_flip(x, np.random.default_rng(1), p=0.5)
    assert out.shape == x.shape and out.dtype == x.dtype
    flipped = np.array([np.array_equal(o, i[..., ::-1]) for o, i in zip(out, x)])
    same = np.array([np.array_equal(o, i) for o, i in zip(out, x)])
    assert np.all(flipped ^ same) and 0 < flipped.sum() < len(x)
    np.testing.assert_array_equal(x, batch(shape))  # the input is left alone
    np.testing.assert_array_equal(random_horizontal_flip(x, np.random.default_rng(0), p=1.0), x[..., ::-1])
    np.testing.assert_array_equal(random_horizontal_flip(x, np.random.default_rng(0), p=0.0), x)


def test_flip_fraction_is_p():
    x = np.arange(2 * 3).reshape(1, 2, 3).repeat(4000, axis=0)
    out = random_horizontal_flip(x, np.random.default_rng(0), p=0.3)
    assert abs((out[:, 0, 0] == 2).mean() - 0.3) < 0.03


# --- shifts ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(200, 28, 28), (50, 2, 7, 9)])
def test_shift_is_a_translation_with_fill(shape):
    x = batch(shape)
    s = 2
    out = random_shift(x, np.random.default_rng(2), max_shift=s)
    assert out.shape == x.shape and out.dtype == x.dtype
    seen = set()
    for o, i in zip(out, x):  # find each image's shift: the one that reproduces it
        found = []
        for dy in range(-s, s + 1):
            for dx in range(-s, s + 1):
                moved = np.zeros_like(i)
                h, w = i.shape[-2:]
                moved[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
                    i[..., max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
                if np.array_equal(moved, o):
                    found.append((dy, dx))
        assert len(found) == 1
        seen.add(found[0])
    assert len(seen) >= 15  # of the 25 shifts, most occur
    np.testing.assert_array_equal(random_shift(x, np.random.default_rng(0), max_shift=0), x)


def test_shift_errors():
    with pytest.raises(ValueError, match="max_shift must be a non-negative integer"):
        random_shift(batch(), np.random.default_rng(0), max_shift=1.5)
    with pytest.raises(ValueError, match=r"\(N, H, W\) or \(N, C, H, W\), got \(28, 28\)"):
        random_shift(batch()[0], np.random.default_rng(0))
    with pytest.raises(TypeError, match="np.random.Generator"):
        random_shift(batch(), 0)


# --- random erasing -------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(300, 28, 28), (40, 3, 16, 16)])
def test_erasing_fills_one_rectangle_of_the_right_size(shape):
    x = batch(shape)
    scale = (0.05, 0.2)
    out = random_erasing(x, np.random.default_rng(3), p=0.5, scale=scale, value=0)
    assert out.shape == x.shape and out.dtype == x.dtype
    h, w = shape[-2:]
    erased = 0
    for o, i in zip(out, x):
        zero = (o == 0) if o.ndim == 2 else (o == 0).all(axis=0)
        if not zero.any():
            np.testing.assert_array_equal(o, i)
            continue
        erased += 1
        rows, cols = np.nonzero(zero)
        box = zero[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
        assert box.all()  # a solid rectangle
        assert scale[0] * h * w * 0.5 <= box.size <= scale[1] * h * w * 1.5
        np.testing.assert_array_equal(o[..., ~zero], i[..., ~zero])  # everything else kept
    assert abs(erased / len(x) - 0.5) < 0.15


def test_erasing_random_value_and_errors():
    x = np.ones((20, 28, 28), dtype=np.float32)
    out = random_erasing(x, np.random.default_rng(0), p=1.0, value="random")
    np.testing.assert_array_equal(out, x)  # noise between the batch's min and max: here both 1
    x = np.random.default_rng(0).random((20, 28, 28)).astype(np.float32)
    out = random_erasing(x, np.random.default_rng(0), p=1.0, value="random")
    assert (out != x).mean() > 0.02 and out.dtype == np.float32
    with pytest.raises(ValueError, match="scale"):
        random_erasing(x, np.random.default_rng(0), scale=(0.5, 0.1))
    with pytest.raises(ValueError, match="value must be a number or 'random'"):
        random_erasing(x, np.random.default_rng(0), value="noise")


def test_augment_batch_is_reproducible_and_changes_images():
    x = batch((32, 28, 28))
    a = augment_batch(x, np.random.default_rng(5), flip=0.5, max_shift=2, erase=0.5)
    b = augment_batch(x, np.random.default_rng(5), flip=0.5, max_shift=2, erase=0.5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, x)
    np.testing.assert_array_equal(augment_batch(x, np.random.default_rng(5), flip=0, max_shift=0, erase=0), x)


# --- k-fold ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,k", [(10, 5), (11, 3), (7, 7), (100, 4)])
def test_kfold_partitions_the_indices(n, k):
    for rng in (None, np.random.default_rng(0)):
        folds = kfold_indices(n, k, rng)
        assert len(folds) == k
        vals = np.concatenate([val for _train, val in folds])
        np.testing.assert_array_equal(np.sort(vals), np.arange(n))  # each index validated exactly once
        sizes = [len(val) for _train, val in folds]
        assert sizes == [n // k + (i < n % k) for i in range(k)]  # scikit-learn's KFold sizes
        for train, val in folds:
            assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == n
            assert np.all(np.diff(train) > 0)
    np.testing.assert_array_equal(kfold_indices(10, 5)[1][1], [2, 3])  # no rng: contiguous blocks


def test_kfold_shuffles_reproducibly_and_errors():
    a = kfold_indices(20, 4, np.random.default_rng(1))
    b = kfold_indices(20, 4, np.random.default_rng(1))
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    assert not np.array_equal(a[0][1], np.arange(5))
    with pytest.raises(ValueError, match="2 <= k <= n"):
        kfold_indices(3, 4)
    with pytest.raises(ValueError, match="2 <= k <= n"):
        kfold_indices(3, 1)


# --- early stopping -------------------------------------------------------------------------------------

def test_early_stopping_max_mode():
    stopper = EarlyStopping(patience=2)
    decisions = [stopper.step(v) for v in [0.5, 0.6, 0.6, 0.65, 0.64, 0.63]]
    assert decisions == [False, False, False, False, False, True]
    assert stopper.best == 0.65 and stopper.best_epoch == 3 and not stopper.improved


def test_early_stopping_min_mode_min_delta_and_improved_flag():
    stopper = EarlyStopping(patience=3, mode="min", min_delta=0.01)
    flags = []
    for v in [1.0, 0.995, 0.98, 0.975, 0.979, 0.972]:
        stop = stopper.step(v)
        flags.append(stopper.improved)
    assert flags == [True, False, True, False, False, False] and stop
    assert stopper.best == 0.98 and stopper.best_epoch == 2


def test_early_stopping_errors():
    with pytest.raises(ValueError, match="patience must be a positive integer"):
        EarlyStopping(patience=0)
    with pytest.raises(ValueError, match="mode must be 'max' or 'min'"):
        EarlyStopping(mode="best")
    with pytest.raises(ValueError, match="NaN"):
        EarlyStopping().step(float("nan"))
    assert repr(EarlyStopping()) == "EarlyStopping(patience=5, mode='max', min_delta=0.0)"
