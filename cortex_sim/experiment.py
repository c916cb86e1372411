"""One shape for every experiment: build once, run with new values, analyse.

A :class:`Protocol` describes an experiment: the network it builds (on the active Brian2 device),
the inputs a run may change without recompiling (:attr:`Protocol.sweepable`), the outputs it reads
back, and how those outputs become a result. :func:`run` runs a protocol once on any device;
:class:`CompiledExperiment` compiles it once (C++ or CUDA standalone, through
:class:`~cortex_sim.compiled.CompiledProject`: the only code that touches Brian2's device internals)
and runs it as often as needed with new values. The sweep engine maps a protocol over a grid with
:func:`cortex_sim.sweeps.protocol_job`, without an edit to the engine.

Writing a protocol takes one class (here run on the runtime device; ``device='cpp'`` compiles it
once into the project cache):

>>> from brian2 import Network, NeuronGroup, ms
>>> from cortex_sim.experiment import Built, Protocol, run
>>> class Decay(Protocol):
...     name = "decay"
...     sweepable = {"tau": ms}
...     def build(self):
...         G = NeuronGroup(1, "dv/dt = -v / tau : 1\\ntau : second (shared, constant)", name="decay_group")
...         G.v = 1
...         return Built(Network(G), 20 * ms, inputs={"tau": G.tau}, outputs={"v": G.variables["v"]})
...     def run_args(self, built, values):
...         return {"tau": values.get("tau", 10.0) * 1e-3}     # ms -> s
...     def analyse(self, built, raw, values):
...         return {"v_end": round(float(raw["v"][0]), 3)}
>>> result, timings = run(Decay(), {"tau": 10}, device="runtime")
>>> result                                                  # exp(-20 ms / 10 ms)
{'v_end': 0.135}

The protocol's attributes hold its configuration (they also key a sweep's store: :meth:`fields`);
``values`` are the run-time values of :attr:`sweepable` (floats in the unit named there, or
Quantities).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from .errors import ParameterError, check_choice

__all__ = ["Protocol", "Built", "CompiledExperiment", "LearnerProtocol", "run", "monitor_array"]


@dataclass
class Built:
    """A protocol's network on the active device and what a run of it sets and reads.

    Attributes
    ----------
    net : brian2.Network
    duration : Quantity
        Simulated time of one run.
    inputs : dict
        ``{key: VariableView or TimedArray}`` that :meth:`Protocol.run_args` may set.
    outputs : dict
        ``{key: Variable or VariableView}`` that :meth:`Protocol.analyse` reads.
    state : dict
        Anything else the analysis needs (schedules, index arrays); must not hold Brian2 state
        that a later build resets.
    """

    net: object
    duration: object
    inputs: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    state: dict = field(default_factory=dict)


class Protocol:
    """Base class of an experiment (complete ones: the user guide's page "One shape for every
    experiment" and the gallery's custom protocol).

    Subclasses set :attr:`name` and :attr:`sweepable` and implement :meth:`build`,
    :meth:`analyse` and, where :attr:`sweepable` is not empty, :meth:`run_args`; :meth:`row`
    (the numbers a sweep stores) defaults to the result when it is a dict of numbers.
    """

    #: names the compiled project in the cache and the protocol in messages
    name: str = "protocol"
    #: ``{value name: brian2 unit}``: what a run may change without recompiling
    sweepable: dict = {}

    def build(self) -> Built:
        """Build the network on the active device (called after :func:`cortex_sim.devices.activate`)."""
        raise NotImplementedError

    def run_args(self, built: Built, values: dict) -> dict:
        """``{input key: value}`` (SI floats or arrays) that turn the built network into ``values``."""
        return {}

    def analyse(self, built: Built, raw: dict, values: dict):
        """The result of one run from its output arrays ``raw`` (``{output key: ndarray}``)."""
        raise NotImplementedError

    def row(self, result) -> dict:
        """The flat record of numbers a sweep stores for one run."""
        if isinstance(result, dict):
            return {k: float(v) for k, v in result.items()}
        if hasattr(result, "row"):
            return result.row()
        raise NotImplementedError(f"{type(self).__name__}.row: turn a {type(result).__name__} into numbers")

    def fields(self) -> dict:
        """JSON description of everything besides ``values`` that determines a result."""
        out = {k: _jsonable(v) for k, v in sorted(vars(self).items()) if not k.startswith("_")}
        return json.loads(json.dumps(out, default=str))

    def check_values(self, values: dict) -> dict:
        """Refuse unknown names and non-finite values; return them as floats in :attr:`sweepable`'s units
        (a Quantity is converted)."""
        out = {}
        for name, value in (values or {}).items():
            check_choice(f"run-time value of {self.name}", name, tuple(self.sweepable))
            unit = self.sweepable[name]
            try:
                number = float(value / unit) if hasattr(value, "dim") else float(value)
            except (TypeError, ValueError):
                raise ParameterError(f"{name}: got {value!r}; allowed: a number in {unit}") from None
            if not np.isfinite(number):
                raise ParameterError(f"{name}: got {value!r}; allowed: finite numbers")
            out[name] = number
        return out


class LearnerProtocol(Protocol):
    """The protocol of a learner that streams data through one compiled network chunk after chunk
    (the spiking learners, Diehl & Cook): ``build`` is the learner's own construction, and each
    run's raw outputs are the learner's to analyse (:meth:`CompiledExperiment.run_raw`), because its
    state (weights, thresholds) carries over from chunk to chunk.

    Parameters
    ----------
    name : str
        The project's name in the cache.
    build : callable
        ``build() -> Built`` on the active device.
    """

    def __init__(self, name, build):
        self.name, self._build = name, build

    def build(self):
        return self._build()

    def analyse(self, built, raw, values):
        return raw


def _jsonable(value):
    """A JSON-ready form of a protocol attribute that keeps every value (no summarised arrays)."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "dim"):      # a brian2 Quantity: SI values and the dimension
        return {"si": np.asarray(value).tolist(), "dim": str(value.dim)}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def monitor_array(raw: dict, key: str, n_times: int, n_recorded: int) -> np.ndarray:
    """A StateMonitor's variable from a run's output arrays, as ``(recorded index, time)``.

    Standalone runs write a monitor's 2-D values flat and time-major (the runtime device's arrays
    are read back the same way, :func:`run`).

    Examples
    --------
    >>> monitor_array({"v": np.arange(6.0)}, "v", n_times=3, n_recorded=2)
    array([[0., 2., 4.],
           [1., 3., 5.]])
    """
    return np.asarray(raw[key])[:n_times * n_recorded].reshape(n_times, n_recorded).T


def read_outputs(outputs: dict) -> dict:
    """The outputs of a network run on the runtime device, as arrays shaped as a standalone run
    writes them (flat, C order)."""
    out = {}
    for key, obj in outputs.items():
        var = obj.variable if hasattr(obj, "variable") else obj
        out[key] = np.asarray(var.get_value()).reshape(-1).copy()
    return out


class CompiledExperiment:
    """A protocol compiled once and run as often as needed with new values.

    Parameters
    ----------
    protocol : Protocol
    device : {'cpp', 'cuda'}
    threads : int
        OpenMP threads of the C++ device.
    report : None or 'stderr'
        Log the stages of the first build.
    compile : bool
        False: generate the sources only (code-generation checks); the experiment cannot run.
    **device_options
        Passed to :func:`cortex_sim.devices.activate` (e.g. ``compute_capability`` to generate
        CUDA code on a machine without a GPU; ``compile_only=True`` for a project that is only
        compiled).

    Examples
    --------
    >>> from cortex_sim.protocols.pairing import PairingProtocol   # doctest: +SKIP
    >>> exp = CompiledExperiment(PairingProtocol())                 # doctest: +SKIP
    >>> [exp.run({"apical_delay": d}).conditions["paired"]["epsp_ratio"] for d in (0, 10)]  # doctest: +SKIP
    """

    def __init__(self, protocol: Protocol, *, device: str = "cpp", threads: int = 1, report=None, compile=True,
                 **device_options):
        from .compiled import CompiledProject
        from .devices import activate

        check_choice("device", device, ("cpp", "cuda"))
        if not isinstance(protocol, Protocol):
            raise ParameterError(f"protocol: got {type(protocol).__name__}; allowed: a cortex_sim Protocol")
        self.protocol, self.device, self.report = protocol, device, report
        activate(device, threads=threads, **device_options)
        built = protocol.build()
        built.net.run(built.duration)
        self.project = CompiledProject.from_network(built.net, name=protocol.name, device=device, inputs=built.inputs,
                                                    outputs=built.outputs, report=report, compile=compile)
        # the analysis must not reach Brian2's device after this point: drop the network
        self.built = Built(None, built.duration, {}, {}, built.state)
        self.last_run_s = float("nan")

    @property
    def compile_s(self) -> float:
        """Seconds the build spent generating and compiling (the cached binary reused: generation only)."""
        return self.project.compile_s

    @property
    def sim_s(self) -> float:
        """The simulation loop's own time in the last run, as the binary measured it (s)."""
        return float(getattr(self.project, "last_run_s", float("nan")))

    def run(self, values: dict | None = None):
        """Run once with ``values`` (``{name in protocol.sweepable: number or Quantity}``); return the result."""
        from .reporting import progress, run_clock

        p = self.protocol
        values = p.check_values(values)
        args = p.run_args(self.built, values)
        progress(self.report, f"simulating {float(self.built.duration):g} s of biological time ...")
        with run_clock(self.report, self.project.project):
            raw = self.run_raw(args, what=f"the {p.name} run" + (f" {values}" if values else ""))
        return p.analyse(self.built, raw, values)

    @classmethod
    def for_learner(cls, name, build, *, device="cpp", report=None, compile_only=False, generate_only=False,
                    compute_capability=None):
        """The compiled experiment of a learner's network (:class:`LearnerProtocol`): ``build()`` is its
        construction; ``compile_only`` (compile, do not run: CUDA without a GPU) and ``generate_only``
        (sources only) leave no run folder behind."""
        exp = cls(LearnerProtocol(name, build), device=device, report=report, compile=not generate_only,
                  compile_only=compile_only or generate_only, compute_capability=compute_capability)
        if compile_only or generate_only:
            exp.project.close()
        return exp

    def run_raw(self, args: dict, *, what: str | None = None) -> dict:
        """One run with ``args`` for the inputs (``{input key: SI value or array}``); the output
        arrays, unanalysed. For learners that carry their own state from run to run (the spiking
        learners stream their weights through the same binary chunk after chunk)."""
        import time

        t0 = time.perf_counter()
        raw = self.project.run(args, what=what or f"the {self.protocol.name} run")
        self.last_run_s = time.perf_counter() - t0
        return raw

    def close(self):
        """Remove this process's run folder."""
        self.project.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def run(protocol: Protocol, values: dict | None = None, *, device: str = "cpp", threads: int = 1, report=None,
        codegen_target: str = "numpy"):
    """Build, run and analyse ``protocol`` once on ``device``; return ``(result, timings)``.

    On 'cpp' and 'cuda' the project is compiled once per model into the cache (a later call with
    the same structure only runs it); on 'runtime' the network runs in Python.

    Returns
    -------
    result
        What the protocol's :meth:`~Protocol.analyse` returns.
    timings : dict
        ``compile_s`` (0 where the cached binary was reused), ``run_s`` (wall seconds of the run)
        and ``sim_s`` (the simulation loop alone: the binary's own clock; the runtime device: run_s).

    Other parameters: ``threads`` (OpenMP threads of the C++ device), ``report`` ('stderr': log the
    stages of a long run), ``codegen_target`` (of the runtime device: 'numpy' or 'cython').
    """
    import time

    from .devices import DEVICES, activate, run_network

    check_choice("device", device, DEVICES)
    if device != "runtime":
        exp = CompiledExperiment(protocol, device=device, threads=threads, report=report)
        try:
            result = exp.run(values)
        finally:
            exp.close()
        return result, {"compile_s": exp.compile_s if exp.project.compiled else 0.0, "run_s": exp.last_run_s,
                        "sim_s": exp.sim_s}
    values = protocol.check_values(values)
    activate("runtime", codegen_target=codegen_target)
    built = protocol.build()
    t0 = time.perf_counter()
    for key, value in protocol.run_args(built, values).items():
        _set_input(built.inputs[key], value)
    run_network(built.net, built.duration, device="runtime", report=report)
    run_s = time.perf_counter() - t0
    return protocol.analyse(built, read_outputs(built.outputs), values), {"compile_s": 0.0, "run_s": run_s,
                                                                          "sim_s": run_s}


def _set_input(target, value):
    """Set a runtime network's input as a standalone run's ``run_args`` would."""
    from brian2 import TimedArray

    if isinstance(target, TimedArray):
        target.values[:] = np.asarray(value, dtype=target.values.dtype).reshape(target.values.shape)
        return
    target.variable.set_value(np.asarray(value, dtype=target.variable.dtype).reshape(-1)
                              if np.size(value) > 1 else np.asarray(value, dtype=target.variable.dtype))
