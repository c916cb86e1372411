"""Figures: one function per figure, ``ax=None``, units in labels. Plotting never simulates."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._files import atomic_path

__all__ = ["plot_bac", "plot_clamp", "plot_pairing", "plot_frequency", "plot_window", "plot_readout",
           "plot_embedding", "plot_receptive_fields", "plot_spiking_run", "save_figure"]

_COLORS = {"soma_only": "tab:blue", "apical_only": "tab:green", "paired": "tab:red"}


def _plt():
    import matplotlib.pyplot as plt  # the backend is the caller's choice (the CLI uses Agg)

    return plt


def _fig_axes(axes, shape=(1, 1), figsize=(6, 4), **kwargs):
    """The caller's axes and their figure, or a new figure with axes of ``shape``."""
    if axes is None:
        return _plt().subplots(*shape, figsize=figsize, **kwargs)
    return np.ravel(axes)[0].figure, axes


def save_figure(fig, path):
    """Write ``fig`` atomically (temp file + rename) and return the path."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
    return Path(path)


def plot_bac(result, axes=None):
    """Soma and dendrite voltage for soma only / apical only / paired (one column each)."""
    from .protocols.bac import CONDITIONS

    fig, axes = _fig_axes(axes, (2, 3), (11, 5), sharex=True, sharey="row")
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

    fig, ax = _fig_axes(ax)
    for r in results if isinstance(results, (list, tuple)) else [results]:
        u = np.linspace(r.u_clamp_mV.min(), r.u_clamp_mV.max(), 400)
        line, = ax.plot(u, closed_form_dw(r.params, u), lw=1, label=f"{r.preset}: closed form")
        ax.plot(r.u_clamp_mV, r.dw_per_spike, "o", ms=3, color=line.get_color(), label=f"{r.preset}: simulated")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("clamp voltage u (mV)")
    ax.set_ylabel("weight change per presynaptic spike")
    ax.legend(fontsize=8)
    return fig


def plot_pairing(result, axes=None):
    """Pairing experiment: trial voltages, EPSP across the experiment, weight, window, pairing count."""
    fig, axes = _fig_axes(axes, (2, 3), (13, 7))
    ax = np.asarray(axes).reshape(2, 3)
    for a, key, title in ((ax[0, 0], "single_spike_trial", "s2 alone"),
                          (ax[0, 1], "burst_trial", "s2 + apical")):
        tr = result.traces.get(key)
        if tr is None:
            a.set_visible(False)
            continue
        a.plot(tr["t_ms"], tr["v_s_mV"], color="k", lw=1, label="soma v_s")
        a.plot(tr["t_ms"], tr["v_d_mV"], color="tab:orange", lw=1, label="apical v_d")
        a.set_xlabel("time from stimulus (ms)")
        a.set_ylabel("voltage (mV)")
        a.set_title(title, fontsize=10)
        a.legend(fontsize=8)
    blocks = result.blocks
    a = ax[0, 2]
    a.plot(result.epsp_times_s, result.epsp_A_mV, "o", color="k")
    for name, color in (("block1", "tab:blue"), ("block2", "tab:red")):
        t = blocks[name][:result.config.n_pairings]
        a.axvspan(t[0], t[-1] + 1, color=color, alpha=0.15,
                  label="s2 alone" if name == "block1" else "s2 + apical")
    a.set_xlabel("time (s)")
    a.set_ylabel("s1 EPSP amplitude (mV)")
    a.legend(fontsize=8)
    a = ax[1, 0]
    a.plot(result.weight_t_s, result.weight_A, color="k")
    a.set_xlabel("time (s)")
    a.set_ylabel("mean weight of s1 fibers")
    a = ax[1, 1]
    if result.window:
        d = [r["apical_delay_ms"] for r in result.window]
        a.plot(d, [r["epsp_ratio"] for r in result.window], "o-", color="tab:red")
    a.axhline(1, color="k", lw=0.5)
    controls = (("spike_alone", "s2 alone (control)", "tab:blue"), ("apical_alone", "apical alone (control)", "tab:green"),
                ("unpaired_pathway", "unpaired pathway (control)", "0.5"))
    for key, label, color in controls:
        cond = result.conditions.get(key)
        if cond is not None and np.isfinite(cond.get("epsp_ratio", np.nan)):
            a.axhline(cond["epsp_ratio"], color=color, ls="--", lw=1, label=label)
    a.set_xlabel("apical onset - s2 arrival (ms; > 0: apical after s2)")
    a.set_ylabel("s1 EPSP ratio after / before")
    a.set_title("coincidence window (paired, vs apical delay)", fontsize=10)
    a.legend(fontsize=7)
    a = ax[1, 2]
    if result.counts:
        a.plot([r["n_pairings"] for r in result.counts], [r["epsp_ratio"] for r in result.counts], "o-")
    a.axhline(1, color="k", lw=0.5)
    a.set_xlabel("number of pairings")
    a.set_ylabel("EPSP ratio after/before")
    fig.tight_layout()
    return fig


def plot_frequency(result, ax=None):
    """w/w0 - 1 vs pairing rate for +10 and -10 ms, simulation against Sjöström 2001 (mean +- s.e.m.)."""
    from .protocols.frequency import SJOSTROM_2001

    fig, ax = _fig_axes(ax)
    for dtm, color in ((10.0, "tab:red"), (-10.0, "tab:blue")):
        rows = sorted((r for r in result.rows if r["delta_t_ms"] == dtm), key=lambda r: r["rate_hz"])
        if rows:
            ax.plot([r["rate_hz"] for r in rows], [r["w_ratio"] - 1 for r in rows], "o-", color=color,
                    label=f"model ({getattr(result, 'schedule', 'sjostrom')} schedule), delta t = {dtm:+g} ms")
        data = sorted((k[0], v) for k, v in SJOSTROM_2001.items() if k[1] == dtm)
        ax.errorbar([d[0] for d in data], [d[1][0] for d in data], yerr=[d[1][1] for d in data],
                    fmt="s", mfc="none", color=color, capsize=3,
                    label=f"Sjöström 2001, {dtm:+g} ms (mean +- s.e.m.)")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("pairing rate (Hz)")
    ax.set_ylabel("relative weight change w/w0 - 1")
    ax.legend(fontsize=7)
    return fig


def plot_window(result, ax=None):
    """STDP window: w/w0 - 1 vs delta t = t_post - t_pre (ms)."""
    fig, ax = _fig_axes(ax)
    rows = sorted(result.rows, key=lambda r: r["delta_t_ms"])
    ax.plot([r["delta_t_ms"] for r in rows], [r["w_ratio"] - 1 for r in rows], "o-", color="k")
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    rate = rows[0]["rate_hz"] if rows else float("nan")
    ax.set_xlabel("delta t = t_post - t_pre (ms)")
    ax.set_ylabel(f"relative weight change w/w0 - 1 ({rate:g} Hz pairs)")
    return fig


_RULE_STYLE = {"clapp": ("tab:red", "o"), "clapp-s": ("tab:pink", "P"), "clapp-fb": ("tab:orange", "s"), "dfa": ("tab:blue", "^"),
               "pc": ("tab:purple", "v"), "bp": ("k", "D"), "random": ("tab:gray", "x")}


def plot_readout(results, axes=None):
    """Readout accuracy (%) vs layer, one line per rule, error bars = std over seeds.

    ``results`` is the ``results`` list of a study (CLI JSON schema); left panel patch-average
    pooling (the paper's protocol), right panel 2x2-grid pooling (where the results have it,
    ``layers_grid2x2``). Layer 0 is the raw pixels.
    """
    panels = [(k, t) for k, t in (("layers", "patch average (paper)"), ("layers_grid2x2", "2x2-grid pooling"))
              if any(k in r for r in results)]
    fig, axes = _fig_axes(axes, (1, len(panels)), (5 * len(panels), 4), sharey=True)
    axes = np.ravel(axes)
    for ax, (key, title) in zip(axes, panels):
        for r in results:
            if key not in r:
                continue
            color, marker = _RULE_STYLE.get(r["rule"], (None, "o"))
            layers = [x["layer"] for x in r[key]]
            n = r.get("seeds", 1)
            ax.errorbar(layers, [100 * x["accuracy_mean"] for x in r[key]],
                        yerr=[100 * x["accuracy_std"] for x in r[key]], color=color, marker=marker,
                        capsize=3, label=f"{r['rule']} ({n} seed{'s' if n != 1 else ''}, {r.get('epochs', '?')} ep.)")
        ax.set_xlabel("layer (0 = raw pixels)")
        ax.xaxis.set_major_locator(_plt().MaxNLocator(integer=True))
        reps = results[0].get("eval_repeats")
        ax.set_title(f"{results[0]['dataset']}: {title}" + (f", R = {reps} presentations summed" if reps else "")
                     + "\nerror bars: std over seeds (none for one seed)", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("linear readout test accuracy (%)")
    axes[0].legend(fontsize=8)
    return fig


def plot_scaling(data, ax=None):
    """Run time for 1 s simulated vs plastic synapses (benchmarks/run_all.py's ``results/scaling.json``:
    ``{"scaling": [{"synapses", "run_s"}], "references": [{"name", "synapses", "run_s"}]}``)."""
    fig, ax = _fig_axes(ax, (1, 1), (5, 4))
    rows = data["scaling"]
    ax.loglog([r["synapses"] for r in rows], [r["run_s"] for r in rows], "o-",
              label="cortex_sim accumulator (cpp, 1 thread)")
    for r in data.get("references", []):
        ax.plot([r["synapses"]], [r["run_s"]], "s", label=r["name"])
    ax.set_xlabel("plastic synapses")
    ax.set_ylabel("run time for 1 s simulated (s)")
    ax.legend(fontsize=7)
    return fig


def plot_embedding(points, labels, ax=None, title="last layer, 2-D embedding"):
    """Scatter of a 2-D embedding (n, 2) of representations, coloured by class label."""
    fig, ax = _fig_axes(ax, figsize=(5, 5))
    sc = ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", s=6)
    fig.colorbar(sc, ax=ax, label="class")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def plot_receptive_fields(fields, *, n_show=32, axes=None, title=None, cols=8):
    """Receptive fields as images (ON minus OFF weights; red: ON), one panel per neuron, with a
    colour bar.

    Parameters
    ----------
    fields : ndarray (n_neurons, height, width)
        E.g. :func:`cortex_sim.learning.spiking.receptive_fields`.
    n_show : int
        Neurons shown (the first ones), ``cols`` per row; the title says how many of how many.
    """
    rf = np.asarray(fields, float)
    n_post = len(rf)
    n = min(n_show, n_post)
    rows = -(-n // cols)
    fig, axes = _fig_axes(axes, (rows, cols), (1.2 * cols + 0.8, 1.2 * rows + 0.5))
    lim = max(np.abs(rf[:n]).max(), 1e-9)
    im = None
    for k, ax in enumerate(np.ravel(axes)):
        ax.set_xticks([])
        ax.set_yticks([])
        if k < n:
            im = ax.imshow(rf[k], cmap="RdBu_r", vmin=-lim, vmax=lim)
        else:
            ax.axis("off")
    if im is not None:
        fig.colorbar(im, ax=np.ravel(axes).tolist(), shrink=0.8, label="ON - OFF weight")
    fig.suptitle((title or "receptive fields (ON - OFF basal weights; red: ON)") + f" - {n} of {n_post} neurons",
                 fontsize=9)
    return fig


def plot_spiking_run(run, axes=None):
    """A stretch of a spiking-learner run: input raster, layer-1 raster with bursts, the broadcast
    M(t), and one neuron's somatic and apical voltage.

    ``run`` is the dict of :meth:`cortex_sim.learning.spiking.SpikingNetwork.record`.
    """
    fig, axes = _fig_axes(axes, (4, 1), (9, 8), sharex=True)
    ax_in, ax_l1, ax_m, ax_v = np.ravel(axes)
    ax_in.plot(run["input_t_ms"], run["input_i"], "|", color="k", ms=2)
    ax_in.set_ylabel("input channel\n(ON, then OFF)")
    ax_l1.plot(run["l1_t_ms"], run["l1_i"], "|", color="tab:blue", ms=3, label="spike")
    if len(run.get("burst_t_ms", [])):
        ax_l1.plot(run["burst_t_ms"], run["burst_i"], "|", color="tab:red", ms=5, label="spike in a burst")
    ax_l1.set_ylabel("layer-1 neuron")
    ax_l1.legend(fontsize=7, loc="upper right")
    ax_m.step(run["m_t_ms"], run["m"], where="post", color="k")
    ax_m.set_ylabel("broadcast M")
    ax_m.set_ylim(-1.3, 1.3)
    ax_v.plot(run["v_t_ms"], run["v_s_mV"], color="tab:blue", lw=0.8, label="soma v_s")
    ax_v.plot(run["v_t_ms"], run["v_d_mV"], color="tab:green", lw=0.8, label="apical v_d")
    ax_v.set_ylabel(f"neuron {run['neuron']} (mV)")
    ax_v.set_xlabel("time (ms)")
    ax_v.legend(fontsize=7, loc="upper right")
    for ax in (ax_in, ax_l1, ax_m, ax_v):
        for t in run["fixation_starts_ms"]:
            ax.axvline(t, color="0.8", lw=0.5, zorder=0)
    return fig
