"""Two-compartment L5 pyramidal neuron with a dendritic calcium plateau (BAC firing).

Reduced model of Naud & Sprekeler (2018, PNAS 115:E6329)::

    C_s dv_s/dt = -C_s (v_s - E_L)/tau_s + g_s f(v_d) + w_s + I_s                  (soma / basal)
    C_d dv_d/dt = -C_d (v_d - E_L)/tau_d + g_d f(v_d) + c_d K(t - t_spike) + w_d + I_d  (apical)
    f(v) = 1/(1 + exp(-(v - E_d)/D_d)),  K: box of width bap_width after a delay bap_delay
    tau_ws dw_s/dt = -w_s (w_s += b_ws per spike);  tau_wd dw_d/dt = -w_d + a_wd (v_d - E_L)
    tau_VT dv_T/dt = V_T0 - v_T (v_T += dV_T per spike); spike when v_s > v_T

A somatic spike back-propagates (c_d K). With apical depolarisation at the same time the
regenerative term g_d f(v_d) fires a plateau that drives the soma (g_s f(v_d)) into a burst.
During the refractory period t_ref the soma is held at V_clamp (the spike), then reset to V_reset,
so that the voltage-based plasticity sees each spike (the rule needs u > theta_plus).
"""

from __future__ import annotations

from brian2 import Equations, ms

from ..errors import check_quantity
from ..params import TwoCompartmentParams, preset
from .base import NeuronModel, spike_clamp_spec, substitute
from .fastmath import exp_name, precision_namespace
from .integrators import check_method

__all__ = ["two_compartment"]

TWO_COMPARTMENT_EQS = """
dv_s/dt = (1 - clamped)*(-(v_s - E_L)/tau_s + (g_s*f_d + w_s + I_s)/C_s) : volt  # soma / basal voltage
dv_d/dt = -(v_d - E_L)/tau_d + (g_d*f_d + c_d*K_bap + w_d + I_d)/C_d : volt          # apical dendrite voltage
f_d = 1/(1 + exp(-(v_d - E_d)/D_d)) : 1              # Ca plateau nonlinearity
K_bap = int(t - t_spike >= bap_delay)*int(t - t_spike < bap_delay + bap_width) : 1  # bAP box kernel
dw_s/dt = -w_s/tau_ws : amp                          # somatic adaptation current
dw_d/dt = (-w_d + a_wd*(v_d - E_L))/tau_wd : amp     # dendritic adaptation current
dv_T/dt = (V_T0 - v_T)/tau_VT : volt                 # dynamic spike threshold
clamped : 1                                          # 1 while the soma is held at V_clamp
t_spike : second                                     # time of the last spike
I_s_e : amp                                          # constant somatic current
I_d_e : amp                                          # constant apical current
I_s = I_s_e + I_SOMA : amp                           # total somatic injected current
I_d = I_d_e + I_DEND : amp                           # total apical injected current
"""


def two_compartment(params: TwoCompartmentParams | str = "naud2018", *, dt=0.1 * ms,
                    soma_current="0*amp", dend_current="0*amp", method="rk4_exact",
                    precision="double") -> NeuronModel:
    """The two-compartment burst neuron as a :class:`NeuronModel` (plastic voltage: ``v_s``).

    Parameters
    ----------
    soma_current, dend_current : str
        Brian2 expressions (amp) of time-dependent currents injected into soma and apical
        dendrite, e.g. ``"I_soma(t, i)"`` with a TimedArray in the namespace.
    method : str
        Integration method: 'rk4_exact' (:mod:`cortex_sim.models.integrators`) or a Brian2 method.
    precision : {'double', 'mixed'}
        'mixed' evaluates the exponential of the plateau sigmoid in single precision
        (:mod:`cortex_sim.models.fastmath`).
    """
    if isinstance(params, str):
        params = preset("two_compartment", params)
    check_quantity("dt", dt, ms, positive=True)
    check_method(method)
    eqs = substitute(Equations(TWO_COMPARTMENT_EQS.replace("exp(", f"{exp_name(precision)}(")),
                     I_SOMA=f"({soma_current})", I_DEND=f"({dend_current})")
    reset, gate, events, code = spike_clamp_spec(
        "v_s", "V_clamp", "V_reset", params.t_ref, dt, extra_reset="w_s += b_ws\nv_T += dV_T")
    ns = {**params.namespace(), **precision_namespace(precision)}
    return NeuronModel(
        name="two_compartment", equations=eqs, voltage="v_s", rest=params.E_L,
        threshold="v_s > v_T", spike_gate=gate, reset=reset, events=events,
        event_code=code, namespace=ns, method=method,
        init=dict(v_s=params.E_L, v_d=params.E_L, v_T=params.V_T0, clamped=0,
                  t_spike=-1e4 * ms),
        input_gate="(1 - clamped)", params=params)
