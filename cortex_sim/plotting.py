"""Figures: one function per figure, ``ax=None``, units in labels. Plotting never simulates."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["plot_bac", "plot_clamp", "save_figure"]

_COLORS = {"soma_only": "tab:blue", "apical_only": "tab:green", "paired": "tab:red"}


def _plt():
    import matplotlib.pyplot as plt  # the backend is the caller's choice (the CLI uses Agg)

    return plt


def save_figure(fig, path):
    """Write ``fig`` atomically (temp file + rename) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def plot_bac(result, axes=None):
    """Soma and dendrite voltage for soma only / apical only / paired (one column each)."""
    from .protocols.bac import CONDITIONS

    plt = _plt()
    if axes is None:
        fig, axes = plt.subplots(2, 3, figsize=(11, 5), sharex=True, sharey="row")
    else:
        fig = np.ravel(axes)[0].figure
    axes = np.asarray(axes).reshape(2, 3)
    counts = result.to_dict()
    for k, cond in enumerate(CONDITIONS):
        c = _COLORS[cond]
        axes[0, k].plot(result.t_ms, result.v_s_mV[k], color=c, lw=1)
        axes[1, k].plot(result.t_ms, result.v_d_mV[k], color=c, lw=1)
        axes[0, k].set_title(f"{cond.replace('_', ' ')}: {counts[cond]['n_spikes']} spike(s), "
                             f"plateau {counts[cond]['plateau_ms']:.0f} ms", fontsize=9)
        axes[1, k].set_xlabel("time (ms)")
    axes[0, 0].set_ylabel("soma v_s (mV)")
    axes[1, 0].set_ylabel("apical v_d (mV)")
    return fig


def plot_clamp(results, ax=None):
    """Weight change per presynaptic spike vs clamp voltage (simulated points, closed-form lines)."""
    from .protocols.clamp import closed_form_dw

    plt = _plt()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    else:
        fig = ax.figure
    for r in results if isinstance(results, (list, tuple)) else [results]:
        u = np.linspace(r.u_clamp_mV.min(), r.u_clamp_mV.max(), 400)
        line, = ax.plot(u, closed_form_dw(r.params, u), lw=1, label=f"{r.preset}: closed form")
        ax.plot(r.u_clamp_mV, r.dw_per_spike, "o", ms=3, color=line.get_color(), label=f"{r.preset}: simulated")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("clamp voltage u (mV)")
    ax.set_ylabel("weight change per presynaptic spike")
    ax.legend(fontsize=8)
    return fig
