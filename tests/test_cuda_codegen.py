"""Brian2CUDA without a GPU: generate and compile (nvcc) the CUDA project of the benchmark
network for compute capability 9.0 (H100/H200), without running it. Runs in the cuda environment
(.venv-cuda: Python 3.12, brian2 2.10.1, brian2cuda 1.0b1), which ./dev creates; skipped where nvcc
or a Python 3.12 interpreter is missing. The nvcc compile (7 min of both cores here) runs only with
CORTEX_SIM_TEST_NVCC=1, to keep the suite well under 20 minutes on 2 cores; project generation
always runs."""

import glob
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _python312():
    cands = [shutil.which("python3.12")] + glob.glob("/root/.pyenv/versions/3.12*/bin/python3.12")
    for c in filter(None, cands):
        if subprocess.run([c, "-c", "import sys; sys.exit(sys.version_info[:2] != (3, 12))"],
                          capture_output=True).returncode == 0:
            return c
    return None


def _cuda_python(code, tmp_path, timeout=600):
    """Run ``code`` in the cuda environment with a cache of its own; the JSON of its last line."""
    env = dict(os.environ, CORTEX_SIM_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run([str(ROOT / ".venv-cuda" / "bin" / "python"), "-c", code], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not installed")
@pytest.mark.skipif(_python312() is None, reason="no Python 3.12 for brian2cuda")
@pytest.mark.skipif(os.environ.get("CORTEX_SIM_TEST_NVCC") != "1",
                    reason="nvcc compile of a whole project: about 7 min and both cores of a 2-core machine "
                           "(the suite's largest single cost); CORTEX_SIM_TEST_NVCC=1 ./dev test tests/test_cuda_codegen.py "
                           "runs it; the spiking project's CUDA generation below always runs")
def test_cuda_project_generates_and_compiles(tmp_path):
    env = dict(os.environ, CORTEX_SIM_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run([str(ROOT / "dev"), "cuda", "bench", "clopath", "--device", "cuda", "--compile-only",
                           "--compute-capability", "9.0", "--neurons", "20", "--inputs", "10", "--json",
                           "--quick-compile"],
                          capture_output=True, text=True, env=env, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["device"] == "cuda" and out["compiled"] is True
    project = Path(out["project_dir"])
    assert (project / "main").exists()                          # nvcc produced the binary
    assert list(project.glob("code_objects/*.cu"))              # from generated CUDA sources
    makefile = (project / "makefile").read_text()
    assert "sm_90" in makefile and "-Xptxas -O0" in makefile      # the quick compile check
    assert "_check-" in project.name                            # never reused for timed runs


def test_cuda_unavailable_in_this_environment_is_a_clear_error():
    """In the main environment (Python 3.11, brian2 2.9) --device cuda says what is missing."""
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "cortex-sim") if (ROOT / ".venv").exists()
                           else "cortex-sim", "bench", "clopath", "--device", "cuda", "--json"],
                          capture_output=True, text=True, timeout=120)
    try:
        import brian2cuda  # noqa: F401
    except ImportError:
        assert proc.returncode == 2 and "brian2cuda" in proc.stderr and len(proc.stderr.splitlines()) == 1
    else:  # pragma: no cover
        pytest.skip("brian2cuda installed in this environment")


@pytest.mark.slow
@pytest.mark.skipif(_python312() is None, reason="no Python 3.12 for brian2cuda")
@pytest.mark.skipif(not (ROOT / ".venv-cuda" / ".installed").exists() and os.environ.get("CORTEX_SIM_TEST_NVCC") != "1",
                    reason="needs .venv-cuda (./dev cuda --version builds it, about 1 min of pip) or "
                           "CORTEX_SIM_TEST_NVCC=1; kept out of a clean clone's suite for its time")
def test_spiking_learner_cuda_project_generates(tmp_path):
    """The spiking learner's network (two-compartment neurons, Clopath accumulator synapses with the
    register delay, prediction and inhibition synapses, fixation clock) generates a brian2cuda
    project. nvcc compiles it too (428 s on 2 cores, benchmarks/RESULTS.md; too long for the suite)
    and it ran on an H200 (benchmarks/gpu_spiking.sh)."""
    env = dict(os.environ, CORTEX_SIM_CACHE=str(tmp_path / "cache"))
    code = ("import json; from cortex_sim.learning.data import load_dataset; "
            "from cortex_sim.learning.spiking import make_network, spiking_preset, _input_rates; "
            "ds = load_dataset('digits'); cfg = spiking_preset('digits', neurons=(8, 8)); "
            "net = make_network('spiking-clapp', cfg, _input_rates(ds, cfg), device='cuda', generate_only=True, "
            "compute_capability=9.0); print(json.dumps({'project': str(net.project.project)}))")
    subprocess.run([str(ROOT / "dev"), "cuda", "--version"], capture_output=True, env=env, timeout=1500)
    proc = subprocess.run([str(ROOT / ".venv-cuda" / "bin" / "python"), "-c", code], capture_output=True, text=True,
                          env=env, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    project = Path(json.loads(proc.stdout.strip().splitlines()[-1])["project"])
    sources = {p.name for p in project.glob("code_objects/*.cu")}
    assert any(s.startswith("sl1_basal") for s in sources) and any(s.startswith("sl2_pred") for s in sources)
    assert (project / "main.cu").exists() and "sm_90" in (project / "makefile").read_text()


@pytest.mark.skipif(_python312() is None, reason="no Python 3.12 for brian2cuda")
@pytest.mark.skipif(not (ROOT / ".venv-cuda" / ".installed").exists(),
                    reason="needs .venv-cuda (./dev cuda --version builds it, about 1 min of pip)")
def test_a_quick_cuda_compile_leaves_no_flags_for_the_next_build(tmp_path):
    """A quick compile check (-O0 for host and device code) followed by a normal CUDA
    activation: the second has no -O0, and the cuRAND folders are not appended again on every call
    (before: both leaked from one build to the next in a process)."""
    code = ("import json; from brian2 import prefs; from cortex_sim.devices import activate\n"
            "def state():\n"
            "    b = prefs.devices.cuda_standalone.cuda_backend\n"
            "    return {'gcc': list(prefs.codegen.cpp.extra_compile_args_gcc), 'nvcc': list(b.extra_compile_args_nvcc),\n"
            "            'inc': list(prefs.codegen.cpp.include_dirs), 'lib': list(prefs.codegen.cpp.library_dirs)}\n"
            "activate('cuda', compile_only=True, compute_capability=9.0, quick_compile=True); quick = state()\n"
            "activate('cuda', compile_only=True, compute_capability=9.0); first = state()\n"
            "activate('cuda', compile_only=True, compute_capability=9.0); second = state()\n"
            "print(json.dumps({'quick': quick, 'first': first, 'second': second}))")
    out = _cuda_python(code, tmp_path, timeout=300)
    assert "-O0" in out["quick"]["gcc"] and "-O0" in out["quick"]["nvcc"]          # the check compiles quick
    assert "-O0" not in out["first"]["gcc"] and "-O0" not in out["first"]["nvcc"]  # ... and leaves nothing
    assert out["first"] == out["second"]                                          # nothing appended per call
    assert len(out["second"]["inc"]) == len(set(out["second"]["inc"]))


@pytest.mark.skipif(_python312() is None, reason="no Python 3.12 for brian2cuda")
@pytest.mark.skipif(not (ROOT / ".venv-cuda" / ".installed").exists(),
                    reason="needs .venv-cuda (./dev cuda --version builds it, about 1 min of pip)")
def test_diehl_cook_cuda_project_generates(tmp_path):
    """The Diehl & Cook network (spike-table input, heterogeneous input delays, triplet
    STDP with the running weight sums, the slot-clock normalisation, lateral inhibition) generates a
    brian2cuda project for compute capability 9.0 (not run here: no GPU)."""
    code = ("import json; from cortex_sim.learning.diehl_cook import DiehlCookConfig, DiehlCookNetwork\n"
            "net = DiehlCookNetwork(DiehlCookConfig(neurons=20, slots=4), device='cuda', generate_only=True, "
            "compute_capability=9.0)\nprint(json.dumps({'project': str(net.project.project)}))")
    project = Path(_cuda_python(code, tmp_path)["project"])
    sources = {p.name for p in project.glob("code_objects/*.cu")}
    for name in ("dc_input_exc_pre_codeobject.cu", "dc_input_exc_post_codeobject.cu", "dc_normalise_codeobject.cu",
                 "dc_inh_exc_pre_codeobject.cu"):
        assert name in sources, sorted(sources)
    assert "sm_90" in (project / "makefile").read_text()


@pytest.mark.skipif(_python312() is None, reason="no Python 3.12 for brian2cuda")
@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not installed")
@pytest.mark.skipif(not (ROOT / ".venv-cuda" / ".installed").exists(),
                    reason="needs .venv-cuda (./dev cuda --version builds it, about 1 min of pip)")
def test_rk4_exact_and_mixed_precision_generate_and_compile_for_cuda(tmp_path):
    """The AdEx-Clopath neurons with the default integrator rk4_exact (exprel in its
    closed forms) and --precision mixed (exp32, a __host__ __device__ function) generate a brian2cuda
    project, and nvcc compiles its neuron update for sm_90 (one file, without optimisation: 11 s)."""
    code = ("import json, sys, brian2\n"
            "from brian2 import Hz, mV, ms, pA, second\n"
            "from cortex_sim.devices import activate\n"
            "from cortex_sim.networks import feedforward_clopath\n"
            "activate('cuda', compile_only=True, compute_capability=9.0)\n"
            "ff = feedforward_clopath(20, 10, rate=10 * Hz, duration=0.1 * second, drive=800 * pA, w0=0.5, psp=1 * mV,\n"
            "    delay=1 * ms, formulation='accumulator', neuron='nest', rule='nest', name='cu', precision='mixed',\n"
            "    delay_impl='register', record_spikes=False)\n"
            "ff.net.run(0.1 * second)\n"
            "brian2.get_device().build(directory='proj', compile=False, run=False, with_output=False)\n"
            "print(json.dumps({'project': 'proj'}))")
    project = tmp_path / _cuda_python(code, tmp_path)["project"]
    source = project / "code_objects" / "cu_post_stateupdater_codeobject.cu"
    text = source.read_text()
    assert "cortex_exp32(" in text and "_brian_exprel(" in text and "__k_1_u" in text and "__k_1_V_T" not in text
    includes = [f"-I{p}" for p in (ROOT / ".venv-cuda" / "include",
                                    *glob.glob(str(ROOT / ".venv-cuda/lib/python3.12/site-packages/nvidia/cu*/include")))]
    proc = subprocess.run(["nvcc", "-ccbin", "g++", "-I.", "-std=c++17", "-arch=sm_90", "-w", "-use_fast_math",
                           "-Xcompiler", " ".join([*includes, "-w", "-O0"]), "-Xptxas", "-O0", "-c",
                           str(source.relative_to(project)), "-o", str(tmp_path / "su.o")],
                          capture_output=True, text=True, cwd=project, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
