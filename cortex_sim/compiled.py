"""A compiled standalone project that runs without Brian2's device state.

Brian2's C++ (and brian2cuda's CUDA) standalone device writes a project, compiles it, and runs the
binary with Brian2's documented ``run_args`` (``group.variable=value`` or
``group.variable=static_arrays/file`` on the command line, ``--results_dir`` for the outputs). The
device object that built a project is global and is reset by the next build: a network held across
another build then runs against the wrong device state (the arrays it reads are gone).

:class:`CompiledProject` records, when it is built, everything a later run needs: the binary, the
command-line name, dtype and size of every input it accepts, and the result file and dtype of every
output it reads back. Running it afterwards touches no Brian2 state, so any number of compiled
networks (a training network, its frozen evaluation network, a peer) live side by side in one
process. Each process runs in a run folder of its own (:func:`cortex_sim.projects.private_run_folder`,
named by host and process), so parallel processes on one cache never share files.

After every run it checks what a silent failure would hide: the binary's exit status and signal
(one-line error naming the project and the log with the details), the completed fraction Brian2's
binary writes (a run stopped by Ctrl-C raises :class:`~cortex_sim.errors.RunInterrupted`), and
NaN or infinite values in the floating-point outputs.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import BuildFailedError, ParameterError, RunFailedError, RunInterrupted, SimulationDivergedError

__all__ = ["CompiledProject"]


@dataclass
class _Input:
    cli: str          # e.g. 'sl1.theta_h' or 'sl_input_table.values'
    dtype: np.dtype
    size: int | None  # number of elements (None: any length, a dynamic array)


@dataclass
class _Output:
    filename: str
    dtype: np.dtype


@dataclass
class CompiledProject:
    """A compiled project and the names of its inputs and outputs.

    Build with :meth:`from_network` (the network must have been ``run`` on an active standalone
    device); run with :meth:`run`, as often as needed, with a dict of input values (floats in SI
    units, or arrays of the input's size) and get a dict of output arrays back.

    Attributes
    ----------
    project : Path
        The cached project folder (sources, binary, compile log).
    work : Path
        This process's run folder (binary linked, static arrays copied).
    compiled : bool
        Whether building it ran the compiler (False: the cached binary was up to date).
    compile_s : float
    """

    project: Path
    work: Path
    device: str
    inputs: dict
    outputs: dict
    env: dict = field(default_factory=dict)
    run_cmd: list = field(default_factory=lambda: ["./main"])
    compiled: bool = False
    compile_s: float = 0.0
    runs: int = 0
    static_arrays: dict = field(default_factory=dict)   # file name -> bytes, copied into the run folder
    make_cmd: list = field(default_factory=list)
    digest: str = ""    # of the generated sources and static arrays this binary was built from
    binary_id: tuple | None = None   # (inode, size) of the run folder's binary when it was linked

    @classmethod
    def from_network(cls, net, *, name, device="cpp", inputs=None, outputs=None, report=None, compile=True):
        """Generate and compile ``net``'s project in the cache and record its inputs and outputs.

        Parameters
        ----------
        net : brian2.Network
            Already ``run`` on the active standalone device (that records the simulation).
        name : str
            Project name prefix in the cache (``<cache>/<device>/<name>-<fingerprint>``).
        inputs : dict
            ``{key: brian2 VariableView or TimedArray}``: the values a run may set.
        outputs : dict
            ``{key: brian2 VariableView}`` (e.g. ``group.v``, ``monitor.i``): the arrays a run reads back.
        compile : bool
            False: generate the sources only (code-generation tests); the project cannot run.
        """
        import brian2

        from .projects import build_project, cache_root, network_fingerprint, private_run_folder

        dev = brian2.get_device()
        project = cache_root() / device / f"{name}-{network_fingerprint(net)}"
        project.mkdir(parents=True, exist_ok=True)
        ins = {k: cls._input_spec(v) for k, v in (inputs or {}).items()}
        outs = {}
        t0 = time.perf_counter()
        with open(project / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            compiled, _ = build_project(dev, project, compile=compile, report=report, device=device)
            for k, view in (outputs or {}).items():
                var = view.variable if hasattr(view, "variable") else view
                outs[k] = _Output(dev.get_array_filename(var), np.dtype(var.dtype))
            work = private_run_folder(project) if compile else project
            digest = _generated_digest(project) if compile else ""
        from brian2 import prefs

        env = {**prefs["devices.cpp_standalone.run_environment_variables"],
               **getattr(dev, "run_environment_variables", {})}
        from .projects import make_command

        run_cmd = prefs.devices.cpp_standalone.run_cmd_unix
        run_cmd = [run_cmd] if isinstance(run_cmd, str) else list(run_cmd)
        make_cmd = make_command()
        static = {f.name: f.stat().st_size for f in (work / "static_arrays").iterdir()} if compile else {}
        made = cls(project, work, device, ins, outs, {k: str(v) for k, v in env.items()}, run_cmd,
                   bool(compiled), time.perf_counter() - t0, static_arrays=static, make_cmd=make_cmd,
                   digest=digest)
        if compile:
            made._remember_binary()
        return made

    @staticmethod
    def _input_spec(key):
        from brian2 import TimedArray

        if isinstance(key, TimedArray):
            return _Input(f"{key.name}.values", np.dtype(key.values.dtype), int(key.values.size))
        var = key.variable
        size = None if getattr(var, "dynamic", False) else int(np.prod(var.size))
        return _Input(f"{key.group_name}.{key.name}", np.dtype(var.dtype), size)

    # -- running ------------------------------------------------------------------------------
    def run(self, values, *, what="the run", read=None):
        """Run the binary once with ``values`` for its inputs; return ``{key: array}`` of the outputs.

        Parameters
        ----------
        values : dict
            ``{input key: float or array}`` (SI units; arrays of the input's size). Inputs not
            given keep the values compiled into the project.
        what : str
            Names the run in error messages.
        read : iterable of str or None
            The outputs to read (default: all).
        """
        args = []
        for key, value in values.items():
            spec = self.inputs.get(key)
            if spec is None:
                raise ParameterError(f"{what}: got an unknown input {key!r}; allowed: {', '.join(sorted(self.inputs))}")
            arr = np.asarray(value, dtype=spec.dtype)
            if arr.size == 1 and (spec.size is None or spec.size != 1 or arr.ndim == 0):
                args.append(f"{spec.cli}={arr.reshape(-1)[0].item()!r}")
                continue
            if spec.size is not None and arr.size != spec.size:
                raise ParameterError(f"{what}: input {key!r} got {arr.size} values; allowed: {spec.size}")
            fname = f"arg_{spec.cli.replace('.', '_')}.dat"
            np.ascontiguousarray(arr.reshape(-1)).tofile(self.work / "static_arrays" / fname)
            args.append(f"{spec.cli}=static_arrays/{fname}")
        results = self.work / "results"
        results.mkdir(exist_ok=True)
        info = results / "last_run_info.txt"
        log = results / "stdout.txt"
        for attempt in (0, 1):
            self._check_run_folder()
            if info.exists():
                info.unlink()
            rc = self._run_binary(args, results, log, what)
            if rc == 0:
                break
            from .projects import binary_failure

            how = binary_failure(rc)
            if attempt == 1:
                raise RunFailedError(f"{what}: the simulation binary of {self.project} {how} (after one rebuild); "
                                     f"details in {log}")
            self._rebuild(f"its binary {how}")
        self.runs += 1
        if info.exists():
            run_s, fraction = (float(x) for x in info.read_text().split())
            if fraction < 1.0:
                raise RunInterrupted(f"{what} stopped at {100 * fraction:.0f} % of its simulated time")
            self.last_run_s = run_s
        out = {}
        for key in (self.outputs if read is None else read):
            spec = self.outputs[key]
            path = results / spec.filename
            if not path.exists():
                raise BuildFailedError(f"{what}: the simulation binary of {self.project} wrote no {spec.filename}; "
                                       f"details in {log}")
            arr = np.fromfile(path, dtype=spec.dtype)
            if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
                raise SimulationDivergedError(f"{what}: {key} got NaN or inf by the end of the run; allowed: finite "
                                              "values (reduce dt, check the input currents and parameters)")
            out[key] = arr
        return out

    def _run_binary(self, args, results, log, what):
        env = {**os.environ, **self.env}
        with open(log, "w") as out:
            proc = subprocess.Popen([*self.run_cmd, "--results_dir", str(results) + os.sep, *args], cwd=self.work,
                                    stdout=out, stderr=subprocess.STDOUT, env=env)
            try:
                rc = proc.wait()
            except BaseException:
                proc.send_signal(signal.SIGINT)   # the binary stops cleanly and reports how far it got
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                raise RunInterrupted(f"{what} was interrupted") from None
        if rc < 0 and -rc in (signal.SIGINT, signal.SIGTERM):
            raise RunInterrupted(f"{what} was stopped by {signal.Signals(-rc).name}")
        return rc

    def _check_run_folder(self):
        """Before a run: the binary is the one make produced (its stamp) and every static array the
        binary reads is there with its size (a missing one makes Brian2's binary print a message and
        run on zeros). A missing or resized array is copied again from the project; a damaged binary
        is rebuilt."""
        if self.work == self.project:
            return
        from .cache import stale_reason

        reason = stale_reason(self.project, self.device)
        # a stale project that another run regenerated with other constants (and may be compiling
        # right now) is not this process's: its hard-linked binary, built from its own sources, runs
        if reason is not None and not (self._own_binary_intact() and _generated_digest(self.project) != self.digest):
            self._rebuild(reason)
        for name, size in self.static_arrays.items():
            dest = self.work / "static_arrays" / name
            if dest.exists() and dest.stat().st_size == size:
                continue
            self._check_same_generation(f"its static array {name} is missing in {self.work}")
            shutil.copy2(self.project / "static_arrays" / name, dest)

    def _own_binary_intact(self):
        """The run folder's binary is the file linked when this project was built (same inode and
        size as then: make writes a new file, a truncation changes the size)."""
        try:
            st = (self.work / "main").stat()
        except FileNotFoundError:
            return False
        return self.binary_id is not None and (st.st_ino, st.st_size) == tuple(self.binary_id)

    def _remember_binary(self):
        try:
            st = (self.work / "main").stat()
            self.binary_id = (st.st_ino, st.st_size)
        except FileNotFoundError:
            self.binary_id = None

    def _rebuild(self, reason):
        """Rebuild the project from its generated sources (no Brian2 state needed), under its lock,
        and link the new binary into this process's run folder. Another process that rebuilt it in
        the meantime is trusted (its stamp is checked again under the lock)."""
        from .cache import discard_build, stale_reason
        from .projects import make_project

        with open(self.project / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._check_same_generation(reason)
            binary = self.project / "main"
            if not binary.exists() or stale_reason(self.project, self.device) is not None or \
                    os.path.samefile(binary, self.work / "main"):
                discard_build(self.project, reason)
                make_project(self.project, device=self.device, make_cmd=self.make_cmd or None)
            (self.work / "main").unlink(missing_ok=True)
            os.link(binary, self.work / "main")
            self._remember_binary()

    def _check_same_generation(self, reason):
        """The project folder still holds the sources and static arrays this binary was built from
        (another run of the same structure with other constants regenerates them): only then can it
        be rebuilt or its arrays copied again without changing the model."""
        if _generated_digest(self.project) != self.digest:
            raise RunFailedError(f"{reason}, and {self.project} was regenerated since by another run, so it cannot "
                                 "be rebuilt in place; run the command again (it regenerates the project)")

    def close(self):
        """Remove this process's run folder."""
        import shutil

        if self.work != self.project:
            shutil.rmtree(self.work, ignore_errors=True)


def _generated_digest(project: Path) -> str:
    """Hash of a generated project's sources, makefile and compile-time static arrays."""
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    files = [p for pattern in ("*.cpp", "*.h", "*.cu", "*.cuh", "makefile") for p in project.glob(pattern)]
    files += [p for sub in ("code_objects", "brianlib") for p in (project / sub).rglob("*") if p.is_file()
              and p.suffix in (".cpp", ".h", ".cu", ".cuh")]
    files += [p for p in (project / "static_arrays").glob("*")
              if not p.name.startswith(("init_", "arg_")) and not p.name.endswith(".lock")]
    for p in sorted(files):
        h.update(str(p.relative_to(project)).encode())
        try:
            h.update(p.read_bytes())
        except FileNotFoundError:
            h.update(b"missing")
    return h.hexdigest()
