"""The figure of a sweep: lines for a 1-D sweep, a heat map for 2-D (more: the first two
dimensions, one panel per value of the third)."""

from __future__ import annotations

import numpy as np


#: what a sweep's output fields mean, in words with units (figure axes and colour bars)
VAR_LABELS = {
    "spike_alone_epsp_ratio": "s1 EPSP after / before: s2 alone (control)",
    "paired_epsp_ratio": "s1 EPSP after / before: s2 + apical (paired)",
    "apical_alone_epsp_ratio": "s1 EPSP after / before: apical alone (control)",
    "unpaired_pathway_epsp_ratio": "EPSP after / before: unpaired pathway (control)",
    "paired_spikes_per_trial": "somatic spikes per paired trial",
    "w_ratio": "weight after / before pairing (w / w0)",
    "measured_delta_t_ms": "measured spike timing t_post - t_pre (ms)",
    "run_s": "run time (s)", "compile_s": "compile time (s)", "post_rate_hz": "postsynaptic rate (Hz)",
    "mean_weight": "mean weight (w_max = 1)", "peak_rss_mb": "peak memory (MB)",
}


def _label(ds, name):
    unit = ds[name].attrs.get("units", "")
    return f"{name} ({unit})" if unit else name


def var_label(ds, var):
    """Words (and unit) for an output field: its ``long_name`` attribute, the table above, or the
    name with spaces."""
    return ds[var].attrs.get("long_name") or VAR_LABELS.get(var) or var.replace("_", " ")


def plot_sweep(ds, var):
    """Plot ``ds[var]`` over the swept dimensions (an ``xarray.Dataset`` from a sweep)."""
    import matplotlib.pyplot as plt

    if var not in ds:
        var = next(iter(ds.data_vars), None)
    dims = list(ds.dims)
    if var is None:
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.text(0.5, 0.5, "no finished points", ha="center", va="center")
        ax.set_axis_off()
        return fig
    da = ds[var]
    if len(dims) == 1:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        x = ds[dims[0]].values
        numeric = np.issubdtype(x.dtype, np.number)
        ax.plot(x if numeric else np.arange(len(x)), da.values, "o-")
        if not numeric:
            ax.set_xticks(np.arange(len(x)), x, rotation=30)
        ax.set_xlabel(_label(ds, dims[0]))
        ax.set_ylabel(var_label(ds, var))
        ax.grid(alpha=0.3)
        fig.tight_layout()
        return fig
    rest = dims[2:]
    panels = [dict(zip(rest, combo)) for combo in np.ndindex(*(ds.sizes[d] for d in rest))] or [{}]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels) + 0.8, 3.6), squeeze=False)
    finite = da.values[np.isfinite(da.values)]
    vmin, vmax = (finite.min(), finite.max()) if finite.size else (0, 1)
    for ax, sel in zip(axes[0], panels):
        sub = da.isel(sel).transpose(dims[0], dims[1])
        im = ax.imshow(sub.values, origin="lower", aspect="auto", vmin=vmin, vmax=vmax, cmap="viridis")
        ax.set_yticks(np.arange(ds.sizes[dims[0]]), [f"{v:g}" if np.isscalar(v) and not isinstance(v, str) else v
                                                     for v in ds[dims[0]].values])
        ax.set_xticks(np.arange(ds.sizes[dims[1]]), [f"{v:g}" if np.isscalar(v) and not isinstance(v, str) else v
                                                     for v in ds[dims[1]].values], rotation=30)
        ax.set_ylabel(_label(ds, dims[0]))
        ax.set_xlabel(_label(ds, dims[1]))
        if sel:
            ax.set_title(", ".join(f"{d} = {ds[d].values[i]}" for d, i in sel.items()), fontsize=9)
    fig.colorbar(im, ax=list(axes[0]), label=var_label(ds, var))
    return fig
