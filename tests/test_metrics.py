import numpy as np
import pytest

from companion.metrics import accuracy, confusion_matrix


def test_accuracy_from_labels():
    assert accuracy([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75
    assert isinstance(accuracy(np.array([1]), np.array([1])), float)


def test_accuracy_from_scores_takes_argmax():
    logits = np.array([[2.0, 1.0, 0.0], [0.1, 0.2, 3.0], [5.0, -1.0, 0.0], [0.0, 1.0, 0.5]])
    assert accuracy([0, 2, 1, 1], logits) == 0.75
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert accuracy([0, 2, 1, 1], probs) == 0.75


def test_accuracy_matches_direct_count_on_random_data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 1000)
    scores = rng.normal(size=(1000, 10))
    assert accuracy(y, scores) == pytest.approx(np.count_nonzero(scores.argmax(1) == y) / 1000)


def test_shape_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r"\(4,\).*\(3,\)"):
        accuracy(np.zeros(4, int), np.zeros(3, int))
    with pytest.raises(ValueError, match=r"\(4,\).*\(5, 10\)"):
        accuracy(np.zeros(4, int), np.zeros((5, 10)))
    with pytest.raises(ValueError, match=r"\(4, 1, 1\)"):
        accuracy(np.zeros(4, int), np.zeros((4, 1, 1)))
    with pytest.raises(ValueError, match=r"y_true.*\(4, 2\)"):
        confusion_matrix(np.zeros((4, 2), int), np.zeros(4, int))


def test_accuracy_rejects_empty_and_fractional_labels():
    with pytest.raises(ValueError, match="empty"):
        accuracy([], [])
    with pytest.raises(ValueError, match="integer class labels"):
        accuracy([0.5, 1.0], [0, 1])


def test_confusion_matrix_rows_true_columns_predicted():
    cm = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2])
    expected = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    np.testing.assert_array_equal(cm, expected)
    assert cm.dtype == np.int64 and cm.shape == (3, 3)


def test_confusion_matrix_num_classes_and_scores():
    cm = confusion_matrix([0, 1], [1, 1], num_classes=4)
    assert cm.shape == (4, 4) and cm.sum() == 2 and cm[0, 1] == 1 and cm[1, 1] == 1
    scores = np.eye(5)[[0, 1, 1]]  # (3, 5): C from the scores even though class 4 never occurs
    assert confusion_matrix([0, 1, 0], scores).shape == (5, 5)


def test_confusion_matrix_agrees_with_accuracy():
    rng = np.random.default_rng(1)
    y, p = rng.integers(0, 7, 500), rng.integers(0, 7, 500)
    cm = confusion_matrix(y, p, num_classes=7)
    assert cm.sum() == 500
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(y, minlength=7))
    assert np.trace(cm) / 500 == pytest.approx(accuracy(y, p))


def test_confusion_matrix_rejects_labels_out_of_range():
    with pytest.raises(ValueError, match=r"y_true.*\[0, 5\].*\[0, 2\]"):
        confusion_matrix([0, 5], [0, 1], num_classes=3)
    with pytest.raises(ValueError, match="y_pred"):
        confusion_matrix([0, 1], [-1, 1])
