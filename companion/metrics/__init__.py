"""Metrics from scratch in NumPy."""
from .classification import (ReliabilityBins, accuracy, auc, average_precision, confusion_matrix,
                             expected_calibration_error, f1, fit_temperature, log_loss, precision, precision_recall_curve,
                             precision_recall_f1, recall, reliability_bins, roc_auc, roc_curve)
from .language import BleuScore, bits_per_char, bleu, chrf, perplexity, tokenize_13a, unigram_bigram_baselines
from .ngram import NGramLM, tune_ngram
from .uncertainty import BootstrapCI, McNemarResult, SeedVariation, bootstrap_ci, mcnemar, seed_variation

__all__ = ["accuracy", "confusion_matrix", "precision_recall_f1", "precision", "recall", "f1", "roc_curve", "auc",
           "roc_auc", "precision_recall_curve", "average_precision", "log_loss", "ReliabilityBins",
           "reliability_bins", "expected_calibration_error", "fit_temperature",
           "unigram_bigram_baselines", "perplexity", "bits_per_char", "tokenize_13a", "BleuScore", "bleu", "chrf",
           "NGramLM", "tune_ngram",
           "BootstrapCI", "bootstrap_ci", "McNemarResult", "mcnemar", "SeedVariation", "seed_variation"]
