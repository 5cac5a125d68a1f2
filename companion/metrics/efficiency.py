"""What training costs in memory and communication (chapter 11): bytes per parameter with Adam, the ZeRO stages'
memory per GPU (Rajbhandari et al., 2020), a Transformer layer's activations (Korthikanti et al., 2022) and the
bytes a ring all-reduce moves. Plain arithmetic, checked against the papers' own numbers in the tests. NumPy only.
"""
from __future__ import annotations

__all__ = ["ADAM_STATE_BYTES", "activation_bytes_per_layer", "ring_allreduce_bytes", "training_bytes_per_parameter",
           "zero_memory_per_gpu"]

# Bytes per parameter kept by the optimizer in mixed-precision training with Adam: an fp32 copy of the weights and
# the two fp32 moments, 4 + 4 + 4 (the "K = 12" of the ZeRO paper).
ADAM_STATE_BYTES = 12


def _positive(**values) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name} must be a positive number, got {value!r}")


def training_bytes_per_parameter(precision: str = "mixed") -> dict[str, int]:
    """Bytes per parameter of weights, gradients and Adam's state: ``"fp32"`` (4 + 4 + 8) or ``"mixed"`` (fp16/bf16
    weights and gradients, 2 + 2, and the fp32 copy and moments, 12): 16 bytes either way, activations not included."""
    if precision == "fp32":
        return {"weights": 4, "gradients": 4, "optimizer": 8}
    if precision == "mixed":
        return {"weights": 2, "gradients": 2, "optimizer": ADAM_STATE_BYTES}
    raise ValueError(f"precision must be 'fp32' or 'mixed', got {precision!r}")


def zero_memory_per_gpu(n_params: float, n_gpus: int, stage: int) -> float:
    """Bytes per GPU for weights, gradients and Adam's state in mixed precision, data-parallel over ``n_gpus``:
    stage 0 replicates everything (16 bytes per parameter); ZeRO stage 1 shards the optimizer state, stage 2 also
    the gradients, stage 3 also the weights (Rajbhandari et al., 2020, Figure 1)."""
    _positive(n_params=n_params, n_gpus=n_gpus)
    if stage not in (0, 1, 2, 3):
        raise ValueError(f"stage must be 0 (plain data parallelism), 1, 2 or 3, got {stage!r}")
    bytes_ = training_bytes_per_parameter("mixed")
    weights, gradients, optimizer = bytes_["weights"], bytes_["gradients"], bytes_["optimizer"]
    if stage >= 1:
        optimizer /= n_gpus
    if stage >= 2:
        gradients /= n_gpus
    if stage >= 3:
        weights /= n_gpus
    return n_params * (weights + gradients + optimizer)


def activation_bytes_per_layer(seq_len: int, batch: int, hidden: int, heads: int, *,
                               recompute: str = "none") -> float:
    """Bytes of activations one Transformer layer keeps for the backward pass in 16-bit training, no tensor
    parallelism: ``s b h (34 + 5 a s / h)`` (Korthikanti et al., 2022, eq. 1), ``s b h 34`` when the attention scores
    are recomputed (``"selective"``), ``2 s b h``, only the layer's input, when everything is (``"full"``)."""
    _positive(seq_len=seq_len, batch=batch, hidden=hidden, heads=heads)
    sbh = seq_len * batch * hidden
    if recompute == "none":
        return sbh * (34 + 5 * heads * seq_len / hidden)
    if recompute == "selective":
        return sbh * 34
    if recompute == "full":
        return sbh * 2
    raise ValueError(f"recompute must be 'none', 'selective' or 'full', got {recompute!r}")


def ring_allreduce_bytes(size_bytes: float, n: int) -> float:
    """Bytes each of ``n`` processes sends in a ring all-reduce of ``size_bytes``: a reduce-scatter and an all-gather,
    each ``(n - 1) / n`` of the data, so ``2 (n - 1) / n * size`` (0 for one process)."""
    _positive(size_bytes=size_bytes, n=n)
    return 2 * (n - 1) / n * size_bytes
