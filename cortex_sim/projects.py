"""Compiled projects on disk: the cache folder, the precompiled header every C++ build includes,
the fingerprint that names a project, make, and the run folder of each process.

A project lives in ``cache_root()/<device>/<name>-<fingerprint>``; the fingerprint hashes the
network's structure (object names, classes, sizes, equations and generated code), so an unchanged
model finds its binary and a changed one gets its own folder. :func:`build_project` generates and
compiles under the project's lock (:mod:`cortex_sim.cache` stamps and heals it);
:func:`private_run_folder` gives each host and process a folder of its own to run the binary in.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from ._files import atomic_path
from .cache import binary_path, discard_build, stale_reason, toolchain, write_stamp
from .errors import BuildFailedError, RunFailedError, RunInterrupted
from .reporting import progress

__all__: list = []   # internal: the devices and CompiledProject are the public face


def cache_root() -> Path:
    """Folder holding the cached C++/CUDA projects."""
    root = os.environ.get("CORTEX_SIM_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "cortex_sim"


#: the standard headers Brian2's C++ standalone sources include (brianlib, objects, code objects):
#: parsing them is most of the compile time of a small code object (0.69 s of which 0.46 s go away)
_PCH_HEADERS = ("algorithm", "cassert", "climits", "cmath", "csignal", "cstdint", "cstdlib", "ctime",
                "fstream", "iostream", "iterator", "limits", "map", "random", "set", "string", "tuple",
                "utility", "vector")


#: glibc declares its vector maths (libmvec: exp, log, pow, sin, cos, 4 doubles or 8 floats per call
#: with AVX2) only under ``__FAST_MATH__``, which Brian2's ``-fno-finite-math-only`` switches off,
#: so a loop calling exp (every AdEx neuron) stays scalar. Declaring them (and nothing else: the
#: generated code's maths and flags are unchanged) lets GCC vectorise such loops. libmvec's exp is
#: accurate to 4 ulp (the scalar exp: 1 ulp) and handles inf and NaN as the scalar one.
_VECTOR_MATH = """#if defined(__x86_64__) && defined(__GNUC__) && !defined(__FAST_MATH__) && !defined(__clang__)
#define __FAST_MATH__ 1
#include <math.h>
#include <cmath>
#undef __FAST_MATH__
#endif
"""


def _header_text():
    return ("// standard headers of Brian2's C++ standalone code, by cortex_sim (cortex_sim.devices)\n"
            + _VECTOR_MATH + "".join(f"#include <{h}>\n" for h in _PCH_HEADERS))


def plain_header():
    """The header of :func:`precompiled_header`, not precompiled (where no ``.gch`` can be built):
    the vector maths declarations still reach the generated code."""
    folder = cache_root() / "pch"
    header = folder / f"cortex_std_{hashlib.sha256(_header_text().encode()).hexdigest()[:12]}.h"
    if not header.exists():
        try:
            with atomic_path(header) as tmp:
                Path(tmp).write_text(_header_text())
        except OSError:
            return None
    return header


def precompiled_header():
    """A header of :data:`_PCH_HEADERS`, precompiled (GCC ``.gch``) for the compiler and flags the
    next C++ build will use, for Brian2's makefile to ``-include``; None where it cannot be built
    or ``CORTEX_SIM_NO_PCH=1``.

    Measured on a spike-pair project (43 sources, 2 cores): make 16.5 s without, 8.0 s with it
    (26.4 to 11.6 CPU-s). Built once per compiler and flag set in ``<cache>/pch/<hash>/`` (1.4 s),
    under a lock. Standard headers only, included before everything else: the generated code and
    its numbers do not change. Where the flags of a project differ (its own defines), GCC finds the
    ``.gch`` unusable and reads the header as text: slower, never wrong.
    """
    import json

    from brian2 import prefs
    from brian2.codegen.cpp_prefs import get_compiler_and_args

    if os.environ.get("CORTEX_SIM_NO_PCH") == "1":
        return None
    _, args = get_compiler_and_args()
    flags = [*args, *(f"-D{k}" if v is None else f"-D{k}={v}" for k, v in prefs["codegen.cpp.define_macros"])]
    if prefs.devices.cpp_standalone.openmp_threads:
        flags.append("-fopenmp")
    cxx = os.environ.get("CXX", "g++")   # the compiler Brian2's makefile calls
    key = hashlib.sha256(json.dumps([cxx, toolchain("cpp")["compiler"], flags, _header_text()]).encode()).hexdigest()[:16]
    folder = cache_root() / "pch" / key
    header, gch = folder / "cortex_std.h", folder / "cortex_std.h.gch"
    if header.exists() and gch.exists():
        return header
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if header.exists() and gch.exists():
            return header
        tmp_h = folder / f".cortex_std.h.{os.getpid()}"
        tmp_h.write_text(_header_text())
        os.replace(tmp_h, header)
        tmp = folder / f".cortex_std.h.gch.{os.getpid()}"
        try:
            proc = subprocess.run([cxx, *flags, "-x", "c++-header", str(header), "-o", str(tmp)],
                                  capture_output=True, timeout=300)
        except (OSError, subprocess.SubprocessError):
            return None
        if proc.returncode != 0:
            tmp.unlink(missing_ok=True)
            return None
        os.replace(tmp, gch)
    return header


def network_fingerprint(net) -> str:
    """Hash of a network's structure: object names, classes, sizes, equations and code, the
    floating-point type Brian2 generates (``prefs.core.default_float_dtype``), and the names of
    the code objects the active standalone device generated for it (call after ``net.run`` on a
    standalone device)."""
    import brian2

    h = hashlib.sha256()
    # float32 and float64 generate different sources for the same network: keyed here, each keeps
    # a project of its own instead of recompiling one back and forth
    h.update(str(brian2.prefs.core.default_float_dtype).encode())
    for obj in sorted(net.objects, key=lambda o: o.name):
        parts = [obj.name, type(obj).__name__, str(getattr(obj, "equations", "")),
                 str(getattr(obj, "when", "")), str(getattr(obj, "order", ""))]
        if hasattr(obj, "_N") and not type(obj).__name__ == "Synapses":
            parts.append(str(obj._N))
        for attr in ("abstract_code", "code", "condition"):
            parts.append(str(getattr(obj, attr, "")))
        h.update("\x1f".join(parts).encode())
    # the generated code objects' names: Brian2 makes them unique against objects still alive in
    # the process (an earlier network someone holds), so the same model can generate renamed code;
    # keyed here too
    names = sorted(getattr(brian2.get_device(), "code_objects", {}) or {})
    h.update("\x1e".join(names).encode())
    return h.hexdigest()[:16]


def binary_mtime(project: Path):
    binary = binary_path(project)
    return None if binary is None else binary.stat().st_mtime_ns


def make_command():
    """Brian2's make command with its arguments, as a list (what :func:`make_project` runs)."""
    import shlex

    from brian2 import prefs

    return [*shlex.split(prefs.devices.cpp_standalone.make_cmd_unix),
            *prefs.devices.cpp_standalone.extra_make_args_unix]


def build_project(dev, project: Path, *, compile: bool = True, report=None, device="cpp"):
    """Generate the standalone project of the current network in ``project`` and compile it.

    Brian2 rewrites only the sources whose content changed, and ``make`` recompiles only those.
    The compiler runs in a session of its own with its output in ``project/make.log``: a Ctrl-C
    (or SIGTERM) reaches this process only, which stops make with SIGINT (make deletes the target
    it was writing, so the cache stays usable) and raises :class:`RunInterrupted`. The caller
    holds ``project/.lock``.

    Returns
    -------
    (compiled, compile_s) : whether the binary was (re)built, and the make time in seconds.
    """
    reason = stale_reason(project, device)
    if reason is not None:
        discard_build(project, reason)
    progress(report, f"code generation: the {device} project in {project} ...")
    before = _source_mtimes(project)
    dev.build(directory=str(project), compile=False, run=False, with_output=False)
    if not compile:
        return False, 0.0
    after = _source_mtimes(project)
    changed = sum(1 for k, v in after.items() if before.get(k) != v)
    if changed or binary_path(project) is None:
        progress(report, f"{changed} generated source file(s) new or changed; compiling (make) ...")
    return make_project(project, device=device, report=report)


def _source_mtimes(project: Path):
    """Modification times of a generated project's sources (Brian2 rewrites only changed files)."""
    out = {}
    for pattern in ("*.cpp", "*.h", "*.cu", "*.cuh", "makefile", "code_objects/*", "brianlib/*"):
        for p in project.glob(pattern):
            try:
                out[str(p)] = p.stat().st_mtime_ns
            except FileNotFoundError:
                pass
    return out


def make_project(project: Path, *, device="cpp", report=None, make_cmd=None):
    """Run ``make`` in a generated project (see :func:`build_project`; the caller holds the lock).

    ``make_cmd`` (a list) defaults to Brian2's make command and arguments; :class:`CompiledProject`
    passes the one recorded when it was built, to rebuild a damaged project without Brian2's device.
    Returns ``(compiled, compile_s)``; a successful compile is stamped and counted in compiles.log.
    """
    import signal

    if make_cmd is None:
        make_cmd = make_command()
    before = binary_mtime(project)
    t0 = time.perf_counter()
    with open(project / "make.log", "w") as log:
        proc = subprocess.Popen(make_cmd, cwd=project, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait()
        except BaseException:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            raise RunInterrupted("interrupted while compiling; the project cache is intact") from None
    compile_s = time.perf_counter() - t0
    if rc != 0:
        tail = (project / "make.log").read_text(errors="replace").strip().splitlines()[-6:]
        raise BuildFailedError(f"compiling {project} failed (make exit {rc}); the log is {project / 'make.log'}; "
                               "last lines: " + " | ".join(tail))
    compiled = binary_mtime(project) != before
    if compiled:   # one line per compile of this project (tests count them)
        write_stamp(project, device)
        with open(project / "compiles.log", "a") as f:
            f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} pid {os.getpid()} {compile_s:.1f} s\n")
    progress(report, f"compiled in {compile_s:.1f} s" if compiled else "cached project up to date (no compile)")
    return compiled, compile_s


def private_run_folder(project: Path) -> Path:
    """A run folder of this process's own next to ``project``: a hard link to the binary and
    copies of the compile-time static arrays (Brian2 rewrites those in place when a model is
    regenerated, so links could change under a running binary), none of the run_args files.
    Parallel processes running one compiled project each run in their own folder, so they never
    share or delete each other's run_args and results files. The folder is named by host and
    process (``<host>-<pid>-<random>``), so on a cache shared by several machines (a home folder on
    NFS) no host mistakes another's live folder for a stale one. The caller holds
    ``project/.lock``; folders of this host's processes that no longer exist are removed here,
    this process's at exit."""
    import atexit
    import uuid

    _remove_stale_work(project / "work")
    work = project / "work" / f"{_host()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    (work / "static_arrays").mkdir(parents=True)
    os.link(project / "main", work / "main")
    if (project / "static_arrays").is_dir():
        for f in (project / "static_arrays").iterdir():
            if not f.name.startswith("init_") and not f.name.endswith(".lock"):   # not run_args files
                shutil.copy2(f, work / "static_arrays" / f.name)
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    return work


def _host():
    """This machine's name as used in run-folder names (``CORTEX_SIM_HOST`` overrides it, for tests)."""
    import socket

    name = os.environ.get("CORTEX_SIM_HOST") or socket.gethostname() or "host"
    return "".join(ch if ch.isalnum() or ch in "._" else "_" for ch in name)


def _remove_stale_work(folder):
    """Remove this host's run folders whose process no longer exists (killed before its atexit
    cleanup). Folders of other hosts are never touched: their processes cannot be checked here."""
    if not folder.is_dir():
        return
    prefix = _host() + "-"
    for d in folder.iterdir():
        if not d.name.startswith(prefix):
            continue
        try:
            os.kill(int(d.name[len(prefix):].split("-")[0]), 0)
        except (ValueError, ProcessLookupError):
            shutil.rmtree(d, ignore_errors=True)
        except PermissionError:
            pass


# -- running a project's binary ------------------------------------------------------------------

def check_completed(dev, what="the simulation"):
    """Raise :class:`RunInterrupted` if the last standalone run stopped early (Brian2's completed
    fraction, written by the binary, below 1: it was sent SIGINT/SIGTERM)."""
    fraction = getattr(dev, "_last_run_completed_fraction", 1.0)
    if fraction is not None and fraction < 1.0:
        raise RunInterrupted(f"{what} stopped at {100 * fraction:.0f} % of its simulated time")


def binary_failure(returncode) -> str:
    """How a simulation binary ended, in words (``returncode`` as subprocess gives it)."""
    import signal

    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        why = {"SIGKILL": " (out of memory, or killed by hand or by a job scheduler)",
               "SIGSEGV": " (a crash: an invalid memory access)"}.get(name, "")
        return f"was killed by signal {name}{why}"
    return f"exited with status {returncode}"


class _ReturnCode:
    """Stands in for the ``subprocess`` module inside Brian2's ``device.run`` while it runs, to keep
    the binary's exit status (Brian2 raises ``RuntimeError('Project run failed')`` without it)."""

    def __init__(self):
        self.returncode = None

    def __getattr__(self, name):
        return getattr(subprocess, name)

    def call(self, *args, **kwargs):
        self.returncode = subprocess.call(*args, **kwargs)
        return self.returncode


def device_run(dev, where, project, *, run_args=None, results_directory="results", what="the simulation"):
    """Brian2's documented ``device.run`` of a built standalone project, with a failing binary as
    one :class:`RunFailedError` (what ran, how it ended: exit status or signal name, the project, the
    log with its output) instead of Brian2's RuntimeError and the binary's output on stdout.

    ``exc.rebuild_may_help`` is False for SIGINT/SIGTERM (someone stopped it: RunInterrupted is
    raised instead) and True otherwise; the caller decides whether to rebuild and run once more.
    """
    import contextlib
    import io
    import signal
    import sys

    module = sys.modules.get(type(dev).run.__module__)
    recorder = _ReturnCode()
    swap = module is not None and getattr(module, "subprocess", None) is subprocess
    if swap:
        module.subprocess = recorder
    try:
        with contextlib.redirect_stdout(io.StringIO()):   # Brian2 prints the binary's output on failure
            dev.run(str(where), with_output=False, run_args=run_args, results_directory=results_directory)
    except RuntimeError as exc:
        if "Project run failed" not in str(exc):
            raise
        rc = recorder.returncode
        if rc is not None and rc < 0 and -rc in (signal.SIGINT, signal.SIGTERM):
            raise RunInterrupted(f"{what} was stopped by {signal.Signals(-rc).name}") from None
        how = binary_failure(rc) if rc is not None else "failed"
        log = Path(getattr(dev, "results_dir", "") or Path(where) / results_directory) / "stdout.txt"
        err = RunFailedError(f"{what}: the simulation binary of {project} {how}; details in {log}")
        err.how, err.rebuild_may_help = how, True
        raise err from None
    finally:
        if swap:
            module.subprocess = subprocess
