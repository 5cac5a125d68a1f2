"""Metrics from scratch in NumPy."""
from .classification import accuracy, confusion_matrix

__all__ = ["accuracy", "confusion_matrix"]
