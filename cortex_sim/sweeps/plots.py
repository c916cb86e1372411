"""The figure of a sweep: lines for a 1-D sweep, a heat map for 2-D (more: the first two
dimensions, one panel per value of the third)."""

from __future__ import annotations

import numpy as np


def _label(ds, name):
    unit = ds[name].attrs.get("units", "")
    return f"{name} ({unit})" if unit else name


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
        ax.set_ylabel(var)
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
    fig.colorbar(im, ax=list(axes[0]), label=var)
    return fig
