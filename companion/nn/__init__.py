"""Neural-network layers from scratch in NumPy, named and shaped as in ``torch.nn``.

One file per family, as in ``torch/nn/modules``; ``functional`` holds the stateless math. NumPy only.
"""
from .activation import ReLU, Sigmoid, Tanh
from .attention import MultiheadAttention, causal_mask, scaled_dot_product_attention
from .container import Sequential
from .conv import AvgPool2d, Conv2d, Flatten, MaxPool2d, conv_output_size
from .linear import Linear
from .loss import CrossEntropyLoss, MSELoss
from .module import Module, Parameter
from .transformer import GELU, Embedding, LayerNorm, TransformerBlock, sinusoidal_positional_encoding

__all__ = ["Module", "Parameter", "Linear", "ReLU", "Sigmoid", "Tanh", "GELU", "Sequential", "CrossEntropyLoss",
           "MSELoss", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "conv_output_size", "Embedding", "LayerNorm",
           "MultiheadAttention", "scaled_dot_product_attention", "causal_mask", "TransformerBlock",
           "sinusoidal_positional_encoding"]
