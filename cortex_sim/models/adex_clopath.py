"""AdEx point neuron of Clopath et al. (2010), Table 1a, with the 2 ms spike clamp.

Equations (u clipped at V_peak inside the dynamics, as NEST does, so that the exponential upswing
of one step cannot poison the other variables)::

    C du/dt = -g_L (u - E_L) + g_L D_T exp((u - V_T)/D_T) - w_ad + z + I
    tau_wad dw_ad/dt = a (u - E_L) - w_ad          (frozen during the spike clamp, as in NEST)
    tau_z dz/dt = -z;   tau_VT dV_T/dt = V_Trest - V_T
    at u >= V_peak: u = V_clamp for t_clamp, then V_reset; w_ad += b; z = I_sp; V_T = V_Tmax
    (the jumps at threshold, or at the end of the clamp with ``jumps_at='end'`` as the authors' code)

References: Clopath et al. 2010 Nat. Neurosci. 13:344; Brette & Gerstner 2005; NEST 3.10
``aeif_psc_delta_clopath``.
"""

from __future__ import annotations

from brian2 import Equations, ms

from ..errors import check_quantity
from ..params import AdExParams, preset
from .base import NeuronModel, spike_clamp_spec, substitute
from .fastmath import exp_name, precision_namespace
from .integrators import check_method

__all__ = ["adex_clopath"]

ADEX_EQS = """
u_c = clip(u, -1000*mV, V_peak) : volt    # voltage capped at V_peak inside the dynamics (NEST)
du/dt = (1 - clamped)*(-g_L*(u_c - E_L) + g_L*D_T*exp((u_c - V_T)/D_T) - w_ad + z + I_inj)/C : volt  # membrane potential
dw_ad/dt = (1 - clamped)*(a*(u_c - E_L) - w_ad)/tau_wad : amp  # adaptation current (frozen while clamped)
dz/dt = -z/tau_z : amp                    # spike after-depolarisation current
dV_T/dt = (V_Trest - V_T)/tau_VT : volt   # adaptive threshold
clamped : 1                               # 1 while the spike clamp holds u at V_clamp
t_spike : second                          # time of the last spike
I_e : amp                                 # constant injected current
I_inj = I_e + I_CURRENT : amp             # total injected current
"""


def adex_clopath(params: AdExParams | str = "clopath2010", *, dt=0.1 * ms, current="0*amp",
                 method="rk4_exact", precision="double") -> NeuronModel:
    """The AdEx-Clopath point neuron as a :class:`NeuronModel`.

    Parameters
    ----------
    params : AdExParams or str
        Parameters or a preset name ('clopath2010', 'nest').
    dt : Quantity
        Time step (sets the clamp schedule).
    current : str
        Brian2 expression of a time-dependent injected current (amp), e.g. ``"I_stim(t, i)"`` with
        ``I_stim`` a TimedArray passed in the namespace.
    method : str
        Integration method: 'rk4_exact' (:mod:`cortex_sim.models.integrators`), or a Brian2 method
        ('rk4'; 'rk2' and 'euler' are faster and drift from NEST: benchmarks/RESULTS.md).
    precision : {'double', 'mixed'}
        'mixed' evaluates the exponential of the spike initiation in single precision
        (:mod:`cortex_sim.models.fastmath`).
    """
    if isinstance(params, str):
        params = preset("adex", params)
    check_quantity("dt", dt, ms, positive=True)
    check_method(method)
    eqs = substitute(Equations(ADEX_EQS.replace("exp(", f"{exp_name(precision)}(")), I_CURRENT=f"({current})")
    jumps = "w_ad += b\nz = I_sp\nV_T = V_Tmax"
    at_onset = params.jumps_at == "onset"
    reset, gate, events, code = spike_clamp_spec(
        "u", "V_clamp", "V_reset", params.t_clamp, dt,
        extra_reset=jumps if at_onset else "", extra_unclamp="" if at_onset else jumps)
    return NeuronModel(
        name="adex_clopath", equations=eqs, voltage="u", rest=params.E_L,
        threshold="u >= V_peak", spike_gate=gate, reset=reset, events=events,
        event_code=code, namespace={**params.namespace(), **precision_namespace(precision)}, method=method,
        init=dict(u=params.E_L, V_T=params.V_Trest, clamped=0, t_spike=-1e4 * ms), input_gate="(1 - clamped)", params=params,
        filtered_voltage="u_c")
