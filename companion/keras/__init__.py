"""Keras code of the book: weight converters and Keras twins of the NumPy blocks. Imports Keras, never torch.

Import the modules themselves (``from companion.keras.convert import load_linear_state_dict``).
"""
