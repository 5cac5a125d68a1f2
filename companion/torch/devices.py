"""Pick the fastest available PyTorch device: CUDA, then Apple MPS, then CPU."""
from __future__ import annotations


def get_device(prefer: str | None = None):
    """Return a ``torch.device``: ``cuda`` if present, else ``mps``, else ``cpu``.

    ``prefer="cpu"`` (or any device string) forces a choice, e.g. to compare timings.
    """
    import torch

    if prefer is not None:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe_device(device) -> str:
    """A one-line human description of ``device`` (GPU name where there is one)."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "mps (Apple GPU)"
    return f"cpu ({torch.get_num_threads()} threads)"
