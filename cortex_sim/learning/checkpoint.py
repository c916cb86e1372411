"""Training checkpoints of every trainer (rate encoder, spiking learner, Diehl & Cook): one format.

A checkpoint is an ``.npz`` file (no pickle) holding a JSON header (``header``: what was trained,
with which settings, how far) and named groups of arrays (``<group>__<name>``: the rate trainer's
parameters ``p`` and Adam moments ``m``, ``v``; the spiking trainers' state ``s``). It is written
atomically (a temporary file renamed over the old one), so an interrupted write never leaves a
half checkpoint, and a resumed run continues from the last complete one.
"""

from __future__ import annotations

import json

import numpy as np

from .._files import atomic_path
from ..errors import ParameterError

__all__: list = []   # internal: the trainers' resume=True is the public face


def save_checkpoint(path, header: dict, groups: dict) -> None:
    """Write ``header`` (JSON-serialisable) and ``groups`` (``{group: {name: array}}``) to ``path``."""
    arrays = {f"{g}__{k}": np.asarray(v) for g, named in groups.items() for k, v in named.items()}
    arrays["header"] = np.array(json.dumps(header))
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def load_checkpoint(path, groups, *, what="cortex_sim") -> tuple:
    """``(header, {group: {name: array}})`` of a checkpoint written by :func:`save_checkpoint`.

    Raises a ParameterError naming the file when it is not a readable checkpoint.
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            out = {g: {k[len(g) + 2:]: z[k] for k in z.files if k.startswith(g + "__")} for g in groups}
    except (OSError, ValueError, KeyError) as exc:
        raise ParameterError(f"checkpoint: {str(path)!r} is not a readable {what} checkpoint ({exc})") from exc
    return header, out
