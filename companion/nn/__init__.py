"""Neural-network layers from scratch in NumPy, named and shaped as in ``torch.nn``.

One file per family, as in ``torch/nn/modules``; ``functional`` holds the stateless math. NumPy only.
"""
from .activation import GELU, ReLU, Sigmoid, Tanh
from .attention import MultiheadAttention, SelfAttention, attention_backward, attention_forward, causal_mask
from .container import Sequential
from .dropout import Dropout
from .conv import Conv2d, conv_output_size
from .fast_conv import FastConv2d
from .flatten import Flatten
from .linear import Linear
from .loss import CrossEntropyLoss, MSELoss
from .module import Module, Parameter
from .pooling import AvgPool2d, MaxPool2d
from .embedding import Embedding
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .transformer import MLP, TransformerBlock, sinusoidal_positional_encoding
from .recurrent import GRU, LSTM, RNN, FastLSTM

__all__ = ["Module", "Parameter", "Linear", "ReLU", "Sigmoid", "Tanh", "GELU", "Sequential", "CrossEntropyLoss",
           "MSELoss", "Conv2d", "FastConv2d", "MaxPool2d", "AvgPool2d", "Flatten", "conv_output_size", "Embedding",
           "LayerNorm", "BatchNorm1d", "BatchNorm2d", "Dropout", "MultiheadAttention", "SelfAttention", "attention_forward", "attention_backward", "causal_mask",
           "MLP", "TransformerBlock", "sinusoidal_positional_encoding", "RNN", "LSTM", "GRU", "FastLSTM"]
