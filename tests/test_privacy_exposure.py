"""Exposure (companion.metrics.privacy): ranks, bounds, ties, bad input, and the expected 1 / ln 2 of a random
candidate."""
import numpy as np
import pytest

from companion.metrics.privacy import exposure, rank_of


def test_rank_and_exposure_of_best_and_worst():
    losses = np.array([3.0, 1.0, 2.0, 5.0])
    assert rank_of(losses, 1) == 1 and rank_of(losses, 3) == 4
    assert exposure(losses, 1) == pytest.approx(2.0)          # log2(4) - log2(1)
    assert exposure(losses, 3) == pytest.approx(0.0)
    np.testing.assert_array_equal(rank_of(losses, np.array([0, 2])), [3, 2])


def test_ties_count_in_the_canarys_favour():
    assert rank_of([1.0, 1.0, 0.5], 0) == 2


def test_a_random_candidate_has_expected_exposure_about_one_over_ln2():
    rng = np.random.default_rng(0)
    losses = rng.normal(size=4096)
    mean = exposure(losses, np.arange(4096)).mean()
    # the exact mean over all ranks is log2(n) - log2(n!) / n -> 1 / ln 2 as n grows
    n = 4096
    exact = np.log2(n) - np.sum(np.log2(np.arange(1, n + 1))) / n
    assert mean == pytest.approx(exact)
    assert abs(exact - 1 / np.log(2)) < 0.01


@pytest.mark.parametrize("losses,index,error", [
    (np.zeros((2, 2)), 0, ValueError), ([], 0, ValueError), ([1.0, np.nan], 0, ValueError),
    ([1.0, 2.0], 2, IndexError), ([1.0, 2.0], 0.5, TypeError)])
def test_bad_input_is_refused_with_a_clear_error(losses, index, error):
    with pytest.raises(error):
        rank_of(losses, index)
