"""What every formulation of the Clopath rule shares: traces, the eps delay, scheduling.

This is the lower module of :mod:`cortex_sim.plasticity`: :mod:`.clopath` (event and naive forms)
and :mod:`.accumulator` (the fast form) both import it, and it imports neither.

- :func:`post_trace_spec`: the postsynaptic filtered voltages u_bar_minus, u_bar_plus, their
  eps-delayed copies (shift register or ring buffer) and the homeostatic LTD amplitude.
- :func:`presynaptic_trace_updater`: the per-neuron presynaptic trace x_bar. There is **one trace
  per source group**: several plastic projections from the same group (feedforward and lateral,
  say) share it, so that x_bar grows by exactly 1/tau_x per spike whatever the number of
  projections. The trace needs one tau_x and one arrival delay; a second projection asking for
  another tau_x or delay is refused with a clear error (its x_bar would be a different trace).
- :func:`trace_step_factor`: how LTP integrates x_bar over one step, in the two conventions of
  :attr:`cortex_sim.params.ClopathParams.ltp_integration`: ``'exact'`` (the integral of the
  exponential over the step, ``tau_x (exp(dt/tau_x) - 1)``, so one presynaptic spike contributes
  exactly 1 to the integral of x_bar, as in continuous time) or ``'dt'`` (NEST 3.10's
  ``clopath_archiving_node``: ``x_bar(t) dt``, 0.33 % less LTP at dt = 0.1 ms, tau_x = 15 ms).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from brian2 import Function, Synapses, mV, ms, volt

from ..devices import shared_clock
from ..errors import ParameterError, check_choice, check_quantity
from ..params import ClopathParams

__all__ = ["ClopathSynapses"]


def trace_step_factor(params: ClopathParams, dt) -> float:
    """Integral of a unit presynaptic trace over one step, in seconds (see module docstring)."""
    if params.ltp_integration == "dt":
        return float(dt)
    tau = float(params.tau_x)
    return tau * np.expm1(float(dt) / tau)


@dataclass
class TraceSpec:
    """Postsynaptic additions made by :func:`post_trace_spec`."""

    equations: str
    ltp_condition: str
    register_code: str | None
    namespace: dict
    init: dict
    n_delay: int


def ring_delay_function(name: str, n: int, n_delay: int, init: float, n_buffers: int = 2) -> Function:
    """A Brian2 function ``name(value, which, idx, step)`` implementing ``n_buffers`` ring buffers.

    At step ``step`` it stores ``value`` for neuron ``idx`` of buffer ``which`` and returns the value
    stored ``n_delay - 1`` steps earlier; called at the end of each step, the result is the value of
    ``n_delay`` steps before the *next* step, as the shift register gives.
    """
    size = n_buffers * n * n_delay
    buf = np.full((n_buffers, n, n_delay), float(init))

    def ring(value, which, idx, step):
        which = int(np.asarray(which).flat[0])
        step = int(np.asarray(step).flat[0])
        b = buf[which]
        b[idx, step % n_delay] = value
        return b[idx, (step + 1) % n_delay].copy()

    f = Function(ring, arg_units=[1, 1, 1, 1], return_unit=1,
                 arg_types=["float", "integer", "integer", "integer"], return_type="float",
                 stateless=False)
    # The buffer is a static array, filled at program start by a static initialiser (no test per
    # call: OpenMP threads call the function at the same step, and a test-and-allocate lost a
    # thread's first writes, so that the result depended on the thread count). Slot-major layout
    # (buffer, slot, neuron): a step's calls, one per neuron, write one row and read the next,
    # contiguously. Its code object in ``bench clopath``: 0.040 s before, 0.023 s after (Brian2's
    # profiling, benchmarks/RESULTS.md).
    cpp = f"""
    static double _{name}_buf[{size}];
    static struct _{name}_fill_t {{
        _{name}_fill_t() {{ for (long k = 0; k < {size}L; k++) _{name}_buf[k] = {float(init)!r}; }}
    }} _{name}_fill;
    static inline double {name}(double value, int which, int idx, int64_t step) {{
        const int64_t slot = step % {n_delay};
        const int64_t next = slot + 1 == {n_delay} ? 0 : slot + 1;
        double* const b = _{name}_buf + (size_t)which * {n * n_delay}L;
        b[slot * {n} + idx] = value;
        return b[next * {n} + idx];
    }}
    """
    f.implementations.add_implementation("cpp", code=cpp, name=name)
    return f


def post_trace_spec(params: ClopathParams, voltage: str, rest, dt, filtered_voltage=None,
                    delay_impl: str = "register", n_neurons: int = 1, group_name: str = "post") -> TraceSpec:
    """Equations of the postsynaptic traces for voltage ``voltage``.

    ``ubar_minus_eps`` and ``ubar_plus_eps`` are the filtered voltages read ``delay_u_bars``
    late, implemented as a shift register of ``round(delay_u_bars/dt)`` stages (NEST's ring
    buffer in Brian2 form, exact, works on every device) or as a ring buffer function (C++ and
    NumPy targets; one write and one read per neuron and step).
    """
    check_quantity("dt", dt, ms, positive=True)
    check_choice("delay_impl", delay_impl, ("register", "ring"))
    fv = filtered_voltage or voltage
    ring = {}
    n = int(round(float(params.delay_u_bars / dt)))
    if abs(n * float(dt) - float(params.delay_u_bars)) > 1e-9 * float(dt) + 1e-12:
        raise ParameterError(
            f"ClopathParams.delay_u_bars: got {params.delay_u_bars!s}; allowed: a multiple of "
            f"dt ({dt!s})")
    lines = [
        f"dubar_minus/dt = ({fv} - ubar_minus)/tau_minus : volt  # low-passed voltage for LTD",
        f"dubar_plus/dt = ({fv} - ubar_plus)/tau_plus : volt     # low-passed voltage for LTP",
    ]
    init = dict(ubar_minus=rest, ubar_plus=rest)
    code = None
    if n == 0:
        lines += ["ubar_minus_eps = ubar_minus : volt  # no read-out delay",
                  "ubar_plus_eps = ubar_plus : volt    # no read-out delay"]
    elif delay_impl == "ring":
        fname = f"ring_{group_name}"
        lines += ["ubar_minus_eps : volt  # ubar_minus read eps late (ring buffer)",
                  "ubar_plus_eps : volt   # ubar_plus read eps late (ring buffer)"]
        init.update(ubar_minus_eps=rest, ubar_plus_eps=rest)
        code = (f"ubar_minus_eps = {fname}(ubar_minus/mV, 0, i, timestep(t, dt))*mV\n"
                f"ubar_plus_eps = {fname}(ubar_plus/mV, 1, i, timestep(t, dt))*mV")
        ring = {fname: ring_delay_function(fname, n_neurons, n, float(rest / mV)), "mV": mV}
    else:
        for k in range(1, n + 1):
            lines.append(f"ubm_{k} : volt  # ubar_minus {k} steps ago")
            lines.append(f"ubp_{k} : volt  # ubar_plus {k} steps ago")
            init[f"ubm_{k}"] = rest
            init[f"ubp_{k}"] = rest
        lines += [f"ubar_minus_eps = ubm_{n} : volt  # ubar_minus read eps late",
                  f"ubar_plus_eps = ubp_{n} : volt   # ubar_plus read eps late"]
        shifts = [f"ubm_{k} = ubm_{k - 1}\nubp_{k} = ubp_{k - 1}" for k in range(n, 1, -1)]
        code = "\n".join(shifts + ["ubm_1 = ubar_minus", "ubp_1 = ubar_plus"])
    if params.homeostasis == "off":
        lines.append("A_LTD_eff = A_LTD : 1/volt  # constant LTD amplitude")
    elif params.homeostasis == "relative":
        lines += ["dubarbar/dt = (ubar_minus - E_rest - ubarbar)/tau_ubarbar : volt  # mean depolarisation",
                  "A_LTD_eff = A_LTD*ubarbar**2/u_ref_squared : 1/volt  # homeostatic LTD amplitude"]
        init["ubarbar"] = np.sqrt(float(params.u_ref_squared)) * volt
    else:  # 'nest': NEST squares the absolute filtered voltage
        lines += ["dubarbar/dt = (ubar_minus - ubarbar)/tau_ubarbar : volt  # NEST u_bar_bar (absolute)",
                  "A_LTD_eff = A_LTD*ubarbar**2/u_ref_squared : 1/volt  # NEST's homeostatic A_LTD"]
        init["ubarbar"] = rest
    ns = params.namespace()
    ns["E_rest"] = rest
    ns.update(ring)
    return TraceSpec("\n".join(lines), f"{voltage} > theta_plus and ubar_plus_eps > theta_minus",
                     code, ns, init, n)


def set_filtered_voltage(group, value, n_delay):
    """Set ubar_minus, ubar_plus and their delay registers of ``group`` to ``value``."""
    group.ubar_minus = value
    group.ubar_plus = value
    for k in range(1, n_delay + 1):
        setattr(group, f"ubm_{k}", value)
        setattr(group, f"ubp_{k}", value)


@dataclass
class ClopathSynapses:
    """A plastic projection: the Synapses object and its helpers (add all of ``objects``)."""

    synapses: Synapses
    objects: list = field(default_factory=list)
    params: ClopathParams = None
    formulation: str = "event"

    def weights(self):
        """Current weights (n_synapses,); the accumulator form adds its pending LTP."""
        return np.asarray(self.synapses.w[:], dtype=float)

    def final_outputs(self):
        """The variables :meth:`weights_from` needs, as outputs of a compiled run."""
        return {"syn_w": self.synapses.variables["w"]}

    def weights_from(self, raw, t_end):
        """Final weights from the arrays of :meth:`final_outputs` (``t_end`` in s: unused here)."""
        return np.asarray(raw["syn_w"], dtype=float)


def connect_and_schedule(S, connect, w0):
    """Connect ``S`` ("all", a condition string or index arrays (i, j)), set w0, and run its LTD
    pathway after the resets (after the LTP of the same step)."""
    if isinstance(connect, tuple):
        S.connect(i=np.asarray(connect[0]), j=np.asarray(connect[1]))
    elif connect == "all":
        S.connect()
    else:
        S.connect(condition=connect)
    S.w = w0
    S.ltd.when, S.ltd.order = "after_resets", 12


_REGISTRY_ATTR = "_cortex_xbar_updater"  # on the source group: ((tau_x s, delay s), Synapses)


def presynaptic_trace_updater(pre, params: ClopathParams, *, name: str, dt, delay=0 * ms):
    """The one pathway that adds 1/tau_x to ``pre``'s per-neuron trace when a spike arrives.

    The first plastic projection from ``pre`` creates it (and sets the trace's decay to tau_x);
    later projections from the same group get the same object back, so that the trace counts each
    spike once. It runs at the end of the arrival step (after LTP and LTD of that step).

    Raises
    ------
    ParameterError
        If ``pre`` already has a trace with another tau_x or arrival delay.
    """
    key = (float(params.tau_x), float(delay))
    existing = getattr(pre, _REGISTRY_ATTR, None)
    if existing is not None:
        (tau_x, d), updater = existing
        if (tau_x, d) != key:
            raise ParameterError(
                f"pre: group {pre.name!r} already carries a presynaptic trace with tau_x = "
                f"{tau_x * 1e3:g} ms and delay {d * 1e3:g} ms; got tau_x = {key[0] * 1e3:g} ms and delay "
                f"{key[1] * 1e3:g} ms; allowed: the same tau_x and delay for every plastic projection "
                "from one group (or a separate source group)")
        return updater
    pre.tau_xbar = params.tau_x
    S = Synapses(pre, pre, on_pre="xbar_post += 1/tau_x", delay=delay, namespace={"tau_x": params.tau_x}, name=name,
                 clock=shared_clock(dt))
    S.connect(j="i")
    S.pre.when = "end"
    setattr(pre, _REGISTRY_ATTR, (key, S))
    return S
