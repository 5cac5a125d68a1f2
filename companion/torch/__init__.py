"""PyTorch code of the book: devices, the GPT, training loops, what attention costs. Imports torch, never Keras.

Import the modules themselves (``from companion.torch.gpt import GPT``); this file imports nothing.
"""
