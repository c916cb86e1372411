"""Voltage clamp (Artola 1990; Ngezahayo 2000): weight change per presynaptic spike vs clamp voltage.

One clamped neuron per clamp voltage, all in one group and one run; each receives one synapse
from a presynaptic neuron that fires once. The weight change is read off the simulated synapses
after the presynaptic trace has decayed (30 tau_x). The exact closed form it must match::

    dw = -A_LTD [u_c - theta_minus]+ + A_LTP [u_c - theta_plus]+ [u_c - theta_minus]+

(the integral of the trace of one spike is exactly 1; see :mod:`cortex_sim.plasticity.clopath`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from brian2 import Network, mV, ms

from ..errors import ParameterError
from ..experiment import Built, Protocol, run
from ..inputs import scheduled_spikes
from ..models import build_neuron_group, clamped_neuron
from ..params import ClopathParams, check_dt, preset
from ..plasticity.clopath import clopath_synapses, set_filtered_voltage

__all__ = ["run_clamp", "ClampResult", "ClampProtocol", "closed_form_dw"]


@dataclass
class ClampResult:
    params: ClopathParams
    preset: str
    u_clamp_mV: np.ndarray
    dw_per_spike: np.ndarray

    def to_dict(self):
        p = self.params
        return {"params": {"preset": self.preset, "theta_minus_mV": float(p.theta_minus / mV),
                           "theta_plus_mV": float(p.theta_plus / mV),
                           "A_LTD_per_mV": float(p.A_LTD * mV), "A_LTP_per_mV2": float(p.A_LTP * mV**2)},
                "rows": [{"u_clamp_mV": float(u), "dw_per_spike": float(d)}
                         for u, d in zip(self.u_clamp_mV, self.dw_per_spike)]}


def closed_form_dw(params: ClopathParams, u_mV):
    """Closed-form weight change per presynaptic spike at clamp voltage(s) ``u_mV``.

    Examples
    --------
    >>> from cortex_sim import preset
    >>> closed_form_dw(preset("clopath", "visual"), [-80.0, -60.0, -40.0])   # none, LTD, LTP
    array([ 0.       , -0.001484 ,  0.0086904])
    """
    u = np.asarray(u_mV, float)
    tm, tp = float(params.theta_minus / mV), float(params.theta_plus / mV)
    return (-float(params.A_LTD * mV) * np.clip(u - tm, 0, None)
            + float(params.A_LTP * mV**2) * np.clip(u - tp, 0, None) * np.clip(u - tm, 0, None))


def run_clamp(params: ClopathParams | str = "visual", *, u_min=-80 * mV, u_max=0 * mV, n_points=41,
              dt=0.1 * ms, device="runtime", codegen_target="numpy", method="euler") -> ClampResult:
    """Simulate the clamp protocol on a grid of ``n_points`` voltages in [u_min, u_max].

    ``method`` integrates the filtered voltages (they start at the clamp voltage, so every method
    keeps them there: the closed form holds for each; tests).

    Examples
    --------
    >>> import numpy as np
    >>> res = run_clamp("visual", n_points=5)
    >>> bool(np.allclose(res.dw_per_spike, closed_form_dw(res.params, res.u_clamp_mV), atol=1e-12))
    True
    """
    protocol = ClampProtocol(params, u_min=u_min, u_max=u_max, n_points=n_points, dt=dt, method=method)
    return run(protocol, device=device, codegen_target=codegen_target)[0]


class ClampProtocol(Protocol):
    """The voltage-clamp protocol as a :class:`~cortex_sim.experiment.Protocol` (parameters as
    :func:`run_clamp`; nothing is changed at run time: the clamp voltages are the group's size)."""

    name = "clamp"

    def __init__(self, params: ClopathParams | str = "visual", *, u_min=-80 * mV, u_max=0 * mV, n_points=41,
                 dt=0.1 * ms, method="euler"):
        self.preset = params if isinstance(params, str) else "custom"
        p = preset("clopath", params) if isinstance(params, str) else params
        if not (2 <= int(n_points) <= 10000):
            raise ParameterError(f"n_points: got {n_points}; allowed: 2 to 10000")
        if not u_min < u_max:
            raise ParameterError(f"u_min: got {u_min!s} >= u_max {u_max!s}; allowed: u_min < u_max")
        # homeostasis off and wide bounds: the protocol measures the rule itself
        self.params = p.with_(homeostasis="off", w_min=-1e3, w_max=1e3)
        check_dt(dt, self.params)
        self.grid = np.linspace(float(u_min / mV), float(u_max / mV), int(n_points))
        self.dt, self.method = dt, method

    def build(self):
        p, dt, grid = self.params, self.dt, self.grid
        t_spike = 10 * ms
        duration = t_spike + 30 * p.tau_x + p.delay_u_bars + 2 * dt
        model = clamped_neuron(rest=-70.6 * mV, method=self.method)
        post = build_neuron_group(model, len(grid), name="clamp_neurons", dt=dt, plasticity=p)
        post.u = grid * mV
        set_filtered_voltage(post, grid * mV, int(round(float(p.delay_u_bars / dt))))
        pre = scheduled_spikes([[float(t_spike)]], name="clamp_input", dt=dt)
        syn = clopath_synapses(pre, post, p, name="clamp_syn", dt=dt, voltage="u", w0=0.0)
        outputs = {"w": syn.synapses.variables["w"], "j": syn.synapses.variables["j"]}
        return Built(Network(post, pre, *syn.objects, name="clamp_network"), duration, outputs=outputs)

    def analyse(self, built, raw, values):
        dw = np.empty(len(self.grid))
        dw[raw["j"].astype(int)] = raw["w"]
        return ClampResult(self.params, self.preset, self.grid, dw)
