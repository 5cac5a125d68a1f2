"""Data: verified downloads and caches, the vision data sets, the book's text corpus, tokenizers (NumPy only)."""
from .corpus import load_corpus
from .tokenizer import CharTokenizer, train_val_split
from .vision import (ChecksumError, DatasetNotFoundError, cifar10_classes, fashion_mnist_classes, load_cifar10,
                     load_fashion_mnist, load_mnist, read_idx)

__all__ = ["load_corpus", "CharTokenizer", "train_val_split", "ChecksumError", "DatasetNotFoundError",
           "cifar10_classes", "fashion_mnist_classes", "load_cifar10", "load_fashion_mnist", "load_mnist", "read_idx"]
