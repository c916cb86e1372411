"""``rk4_exact``: fourth-order Runge-Kutta where it is needed, closed forms where they exist.

A registered Brian2 state-update method (``method="rk4_exact"`` on any ``NeuronGroup``). Each
differential equation ``dx/dt = f`` is put into one of three classes, from its sympy form:

A. **linear and autonomous**, ``f = a + b x`` with ``a`` and ``b`` constant during the step (no
   differential variable, no ``t``): the exact update
   ``x(s) = x + (a + b x) s exprel(b s)`` (the adaptation current z, the adaptive threshold V_T,
   the somatic adaptation of the two-compartment neuron);
B. **a linear filter driven by the others**, ``f = a + b x + g(others, t)``, that no other
   equation reads (a leaf; the Clopath filters u_bar_minus, u_bar_plus when nothing filters them
   further): the exact propagator of the linear part and Simpson's rule for the drive, evaluated
   at the Runge-Kutta stages, ``x_new = x E + a h exprel(b h) + h/6 (g_1 E + 2 E_2 (g_2 + g_3) + g_4)``
   with ``E = exp(b h)``, ``E_2 = exp(b h/2)``: exact for a constant drive, fourth order otherwise;
C. everything else (the membrane potential, the adaptation current it reads): the classical
   RK4, with the class-A variables at their exact values at the stage times.

The result is fourth order like Brian2's ``rk4`` and exact wherever a closed form exists; it
evaluates the right-hand sides of class C only (2 of 6 equations of the AdEx-Clopath neuron),
so the state update is cheaper. Measured cost and error (``bench clopath``, NEST side by side, the
closed forms): benchmarks/RESULTS.md.
"""

from __future__ import annotations

import sympy
from brian2.parsing.sympytools import str_to_sympy, sympy_to_str
from brian2.stateupdaters.base import StateUpdateMethod, UnsupportedEquationsException, extract_method_options

__all__: list = []   # internal: every name here is used by the package, none is public API

#: the classical RK4 stages: stage i is evaluated at t + c_i dt from y + c_i k_(i-1)
_STAGES = (0, sympy.Rational(1, 2), sympy.Rational(1, 2), 1)
_exprel = sympy.Function("exprel")   # Brian2's (exp(x) - 1)/x, stable at x -> 0


def _linear_split(f, x, moving):
    """(a, b, g) with ``f = a + b x + g``, ``a`` and ``b`` free of ``moving`` (the differential
    variables and t) and ``g`` free of ``x``; None where f is not linear in x with a constant
    coefficient."""
    b = sympy.diff(f, x)
    if b.free_symbols & moving:
        return None
    rest = sympy.expand(f - b * x)
    if x in rest.free_symbols:
        return None
    const, drive = sympy.Integer(0), sympy.Integer(0)
    for term in sympy.Add.make_args(rest):
        if term.free_symbols & moving:
            drive += term
        else:
            const += term
    return const, b, drive


class ExactLinearRK4(StateUpdateMethod):
    """The ``rk4_exact`` method (see the module docstring)."""

    def __call__(self, eqs, variables=None, method_options=None):
        extract_method_options(method_options, {})
        if eqs.is_stochastic:
            raise UnsupportedEquationsException("rk4_exact: cannot integrate stochastic equations")
        subs = eqs.get_substituted_expressions(variables)
        if not subs:
            return ""
        names = [v for v, _ in subs]
        sym = {v: sympy.Symbol(v, real=True) for v in names}
        t, dt = sympy.Symbol("t", real=True), sympy.Symbol("dt", real=True)
        f = {}
        for v, expr in subs:
            e = str_to_sympy(expr.code, variables)
            # str_to_sympy makes plain symbols: use ours (real) for the state variables and t, dt
            f[v] = e.xreplace({s: sym.get(s.name, t if s.name == "t" else dt if s.name == "dt" else s)
                               for s in e.free_symbols})
        moving = set(sym.values()) | {t}
        readers = {v: [w for w in names if w != v and sym[v] in f[w].free_symbols] for v in names}
        kind, split = {}, {}
        for v in names:
            parts = _linear_split(f[v], sym[v], moving)
            if parts is not None and parts[2] == 0:           # no drive by the other variables
                kind[v], split[v] = "A", parts[:2]
            elif parts is not None and not readers[v] and parts[1] != 0:
                kind[v], split[v] = "B", parts
            else:
                kind[v] = "C"
        lines = []

        def exact(v, s):   # class A value after s (a sympy expression of dt)
            a, b = split[v]
            if s == 0:
                return sym[v]
            return sym[v] + (a + b * sym[v]) * s * _exprel(b * s)

        # RK4 stages of class C, class A at its exact stage values
        stage_state = []
        k = {v: [] for v in names if kind[v] == "C"}
        for i in range(4):
            s = _STAGES[i] * dt
            repl = {t: t + s} if s != 0 else {}
            for v in names:
                if kind[v] == "A":
                    repl[sym[v]] = exact(v, s)
                elif kind[v] == "C" and i > 0:
                    repl[sym[v]] = sym[v] + _STAGES[i] * sympy.Symbol(k[v][i - 1], real=True)
            stage_state.append(repl)
            for v in k:
                name = f"__k_{i + 1}_{v}"
                lines.append(f"{name} = {sympy_to_str(dt * f[v].xreplace(repl))}")
                k[v].append(name)
        for v in names:
            if kind[v] == "C":
                k1, k2, k3, k4 = (sympy.Symbol(n, real=True) for n in k[v])
                new = sym[v] + k1 / 6 + k2 / 3 + k3 / 3 + k4 / 6
            elif kind[v] == "A":
                new = exact(v, dt)
            else:
                a, b, g = split[v]
                E, E2 = sympy.exp(b * dt), sympy.exp(b * dt / 2)
                gs = [g.xreplace(stage_state[i]) for i in range(4)]
                new = (sym[v] * E + a * dt * _exprel(b * dt)
                       + dt / 6 * (gs[0] * E + 2 * E2 * (gs[1] + gs[2]) + gs[3]))
            lines.append(f"_{v} = {sympy_to_str(new)}")
        lines += [f"{v} = _{v}" for v in names]
        return "\n".join(lines)


def check_method(method):
    """``method`` if Brian2 knows it (a registered name, 'rk4_exact' included, or a method object),
    else a ParameterError naming the allowed names."""
    from ..errors import check_choice

    if isinstance(method, str):
        check_choice("method", method, tuple(StateUpdateMethod.stateupdaters))
    return method


rk4_exact = ExactLinearRK4()
if "rk4_exact" not in StateUpdateMethod.stateupdaters:
    StateUpdateMethod.register("rk4_exact", rk4_exact)
