"""Data: verified downloads and caches (``fetch``, on pooch), the vision data sets and their file formats
(``vision``), the book's text corpus, tokenizers (characters, byte-level BPE)."""
from .augment import augment_batch, random_erasing, random_horizontal_flip, random_shift
from .bpe import BPETokenizer, train_bpe, train_bpe_fast
from .corpus import load_corpus
from .fetch import ChecksumError, DatasetNotFoundError
from .splits import kfold_indices
from .tokenizer import CharTokenizer, train_val_split
from .vision import cifar10_classes, fashion_mnist_classes, load_cifar10, load_fashion_mnist, load_mnist, read_idx

__all__ = ["load_corpus", "CharTokenizer", "train_val_split", "ChecksumError", "DatasetNotFoundError",
           "cifar10_classes", "fashion_mnist_classes", "load_cifar10", "load_fashion_mnist", "load_mnist", "read_idx",
           "random_horizontal_flip", "random_shift", "random_erasing", "augment_batch", "kfold_indices",
           "BPETokenizer", "train_bpe", "train_bpe_fast"]
