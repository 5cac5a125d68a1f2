"""Metrics from scratch in NumPy."""
from .classification import accuracy, confusion_matrix
from .language import unigram_bigram_baselines
from .ngram import NGramLM, tune_ngram

__all__ = ["accuracy", "confusion_matrix", "unigram_bigram_baselines", "NGramLM", "tune_ngram"]
