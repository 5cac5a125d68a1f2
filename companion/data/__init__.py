"""Data: verified downloads and caches (``fetch``, on pooch), the vision data sets and their file formats
(``vision``), the book's text corpus, tokenizers."""
from .corpus import load_corpus
from .fetch import ChecksumError, DatasetNotFoundError
from .tokenizer import CharTokenizer, train_val_split
from .vision import cifar10_classes, fashion_mnist_classes, load_cifar10, load_fashion_mnist, load_mnist, read_idx

__all__ = ["load_corpus", "CharTokenizer", "train_val_split", "ChecksumError", "DatasetNotFoundError",
           "cifar10_classes", "fashion_mnist_classes", "load_cifar10", "load_fashion_mnist", "load_mnist", "read_idx"]
