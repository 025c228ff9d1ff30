"""A fingerprint of a model's weights, to catch two training steps that carry identical weights.

Pythia has known cases (``step0`` equals ``step1`` for every size; some pythia-2.8b revisions are
duplicated); a local run can have them too (a checkpoint copied under two names). The
fingerprint is a SHA-256 over every tensor of the state dict in name order: name, dtype, shape
and raw bytes. It is exact (any changed bit changes it) and does not depend on the device.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping

import torch
from torch import nn

#: Elements hashed per update; keeps the CPU copy of a GPU tensor small.
_CHUNK_ELEMENTS = 1 << 24


def _update(digest: hashlib._Hash, tensor: torch.Tensor) -> None:
    flat = tensor.detach().reshape(-1)
    for start in range(0, max(flat.numel(), 1), _CHUNK_ELEMENTS):
        part = flat[start : start + _CHUNK_ELEMENTS].contiguous().cpu()
        if part.numel():
            digest.update(part.view(torch.uint8).numpy())  # raw bytes, whatever the dtype


def state_fingerprint(state: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 (hex) of a state dict: each tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name]
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}\n".encode())
        _update(digest, tensor)
    return digest.hexdigest()


def model_fingerprint(model: nn.Module) -> str:
    """The fingerprint of ``model.state_dict()`` (parameters and buffers)."""
    return state_fingerprint(model.state_dict())


def duplicate_groups(fingerprints: Mapping[int, str]) -> list[list[int]]:
    """Groups (of two or more steps, sorted) whose fingerprints are equal, ordered by first step."""
    by_print: dict[str, list[int]] = defaultdict(list)
    for step, fp in fingerprints.items():
        by_print[fp].append(step)
    return sorted((sorted(steps) for steps in by_print.values() if len(steps) > 1), key=lambda g: g[0])
