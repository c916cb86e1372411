"""Bad input raises where the mistake is made, naming the parameter, the value and what is allowed;
the CLI prints exactly one line on stderr and exits 2."""

import subprocess
import sys

import pytest
from brian2 import mV, ms, nA

from cortex_sim import ClopathParams, ParameterError, UnknownNameError, preset
from cortex_sim.cli import main
from cortex_sim.devices import activate
from cortex_sim.errors import DeviceUnavailableError
from cortex_sim.params import AdExParams, TwoCompartmentParams, check_dt
from cortex_sim.protocols.bac import run_bac

pytestmark = pytest.mark.codegen_independent


@pytest.mark.parametrize("kwargs,words", [
    (dict(tau_x=0 * ms), ["ClopathParams.tau_x", "0.", "> 0"]),
    (dict(tau_minus=-5 * ms), ["tau_minus", "-5", "> 0"]),
    (dict(theta_plus=-45 * ms), ["theta_plus", "units of mV"]),
    (dict(A_LTD=float("nan") / mV), ["A_LTD", "nan", "finite"]),
    (dict(homeostasis="sometimes"), ["homeostasis", "sometimes", "'relative'"]),
    (dict(w_min=1.0, w_max=0.5), ["w_max", "0.5", "w_min"]),
])
def test_clopath_params_refuse(kwargs, words):
    with pytest.raises(ParameterError) as exc:
        ClopathParams(**kwargs)
    for w in words:
        assert w in str(exc.value)


def test_neuron_params_refuse():
    with pytest.raises(ParameterError, match="AdExParams.C"):
        AdExParams(C=-1 * nA)
    with pytest.raises(ParameterError, match="TwoCompartmentParams.tau_d.*> 0"):
        TwoCompartmentParams(tau_d=0 * ms)


def test_dt_too_coarse_names_fastest_time_constant():
    with pytest.raises(ParameterError) as exc:
        check_dt(2 * ms, TwoCompartmentParams())
    msg = str(exc.value)
    assert "dt" in msg and "2. ms" in msg and "tau_d" in msg and "1.75 ms" in msg
    with pytest.raises(ParameterError, match="dt"):
        run_bac(dt=3 * ms)


def test_unknown_names_suggest():
    with pytest.raises(UnknownNameError, match="did you mean 'visual'"):
        preset("clopath", "visul")
    with pytest.raises(UnknownNameError, match="device.*'gpu'.*'cpp'"):
        activate("gpu")
    with pytest.raises(UnknownNameError, match="field"):
        preset("clopath", "visual").with_(tau_y=1 * ms)


def test_cuda_missing_says_what_and_how():
    try:
        import brian2cuda  # noqa: F401
    except ImportError:
        with pytest.raises(DeviceUnavailableError, match="brian2cuda.*pip install"):
            activate("cuda")
    else:  # pragma: no cover - only on machines with the cuda extra
        pytest.skip("brian2cuda installed")


@pytest.mark.parametrize("argv", [
    ["plasticity", "clamp", "--params", "hippo"],
    ["neuron", "bac", "--device", "gpu"],
    ["neuron", "bac", "--dt", "5"],
    ["neuron", "bac", "--dt", "-1"],
    ["neuron", "bax"],
    ["plasticity", "clamp", "--points", "1"],
])
def test_cli_bad_input_one_line_exit_2(argv, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "cortex_sim.cli", *argv, "--figures", str(tmp_path)]
                          if argv[-1] != "bax" else [sys.executable, "-m", "cortex_sim.cli", *argv],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("cortex-sim: error:")
    assert proc.stdout == ""


def test_cli_main_returns_2(capsys):
    assert main(["plasticity", "clamp", "--params", "nope", "--no-figure"]) == 2
    assert "nope" in capsys.readouterr().err


@pytest.mark.parametrize("argv,word", [
    (["bench", "clopath", "--neurons", "0"], "neurons"),
    (["bench", "clopath", "--rate", "-5"], "rate"),
    # magnitudes a neuron model cannot mean (kHz typed for Hz, nA typed as pA x 1000)
    (["bench", "clopath", "--rate", "5000"], "rate: got 5000 Hz"),
    (["bench", "clopath", "--drive", "5e6"], "drive: got 5e+06 pA"),
    (["bench", "clopath", "--threads", "0"], "threads"),
    (["bench", "clopath", "--formulation", "fast"], "formulation"),
    (["sweep", "pairing", "--param", "theta=1,2"], "sweep parameter"),
    (["sweep", "pairing", "--param", "apical_delay"], "--param"),
    (["bench", "clopath", "--quick-compile"], "quick_compile"),
    (["pairing", "--n-pairings", "0"], "n_pairings"),
    (["pairing", "--window", "a,b"], "--window"),
    (["plasticity", "frequency", "--rates", "-1"], "--rates"),
    (["plasticity", "window", "--delta-ts", "40"], "delta_t_ms"),
])
def test_cli_protocol_bad_input(argv, word):
    proc = subprocess.run([sys.executable, "-m", "cortex_sim.cli", *argv, "--json"], capture_output=True,
                          text=True, timeout=120)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and word in lines[0], proc.stderr


def test_divergence_is_reported_with_variable_and_time():
    """A NaN threshold makes u NaN: the run stops with the group, the variable and the time."""
    from brian2 import Network, StateMonitor, ms

    from cortex_sim.devices import run_network
    from cortex_sim.errors import SimulationDivergedError
    from cortex_sim.models import adex_clopath, build_neuron_group

    activate("runtime", codegen_target="numpy")
    G = build_neuron_group(adex_clopath("nest", dt=0.1 * ms), 2, name="dv", dt=0.1 * ms)
    G.V_T = [-50.4, float("nan")] * mV
    mon = StateMonitor(G, "u", record=True, name="dv_mon")
    with pytest.raises(SimulationDivergedError, match=r"dv\.u: got NaN or inf first at t = 0\.1 ms"):
        run_network(Network(G, mon), 5 * ms, device="runtime")


# Number lists as people type them: negative values with or without '=', start:stop:step
# ranges, and one line naming the option for every bad form.

def test_number_lists_take_negative_values_and_ranges():
    from cortex_sim.cli import build_parser
    from cortex_sim.cli._options import _attach_negative_values, _floats, _option_strings

    parser = build_parser()
    opts = _option_strings(parser, values_only=True)
    for argv in (["plasticity", "window", "--delta-ts", "-5,5"], ["plasticity", "window", "--delta-ts=-5,5"]):
        assert _floats("--delta-ts", parser.parse_args(_attach_negative_values(argv, opts)).delta_ts) == (-5.0, 5.0)
    args = parser.parse_args(_attach_negative_values(["pairing", "--window", "-20,-10", "--apical-delay", "-5"], opts))
    assert (args.window, args.apical_delay) == ("-20,-10", -5.0)
    assert _floats("--delta-ts", "-15:15:5") == (-15.0, -10.0, -5.0, 0.0, 5.0, 10.0, 15.0)
    assert _floats("--delta-ts", "-20,0:1:0.25") == (-20.0, 0.0, 0.25, 0.5, 0.75, 1.0)
    assert _floats("--delta-ts", "0:1:0.1")[3] == 0.3                     # the grid, not 0.30000000000000004
    assert _floats("--counts", "1:16:5", int) == (1, 6, 11, 16)
    assert _attach_negative_values(["sweep", "pairing", "--", "--param", "-1"], opts)[-1] == "-1"


@pytest.mark.parametrize("argv,word", [
    (["plasticity", "window", "--delta-ts", "-5,,5"], "--delta-ts: got '-5,,5' (an empty entry)"),
    (["plasticity", "window", "--delta-ts", "1:2:0"], "--delta-ts: got the range '1:2:0'"),
    (["plasticity", "window", "--delta-ts", "a,b"], "--delta-ts: got 'a'"),
    (["plasticity", "window", "--delta-ts="], "--delta-ts: got no values"),
    (["plasticity", "window", "--delta-ts", "-5,5", "--groups", "0"], "--groups"),   # the list itself was fine
    (["sweep", "pairing", "--param", "apical_delay=-5,,5"], "--param apical_delay"),
    (["sweep", "pairing", "--param", "apical_delay=1:2:0"], "--param apical_delay"),
    (["plasticity", "frequency", "--dt", "0.0001"], "--dt: got 0.0001 ms"),      # dt in s typed for ms
    (["neuron", "bac", "--soma-amp", "1900"], "soma_amp: got 1900 nA"),          # pA typed for nA
    (["plasticity", "window", "--delta-ts", "-5,5", "--threads", "0"], "--threads: got 0"),
    (["bench", "clopath", "--threads", "0"], "threads: got 0"),
    (["bench", "clopath", "--method", "rk5"], "--method"),
    (["pairing", "--precision", "half"], "--precision"),
])
def test_bad_values_are_one_line_naming_the_option(argv, word, capsys):
    assert main([*argv, "--json"]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and word in err[0], err


def test_sweep_grid_ranges_expand_and_keep_typed_values():
    from cortex_sim.cli._options import _list_items

    assert _list_items("--param apical_delay", "-10:10:10,40", numeric=False) == ["-10", "0", "10", "40"]
    assert _list_items("--param apical_amp", "0.6:1.0:0.2", numeric=False) == ["0.6", "0.8", "1.0"]
    assert _list_items("--param rule", "clapp,dfa", numeric=False) == ["clapp", "dfa"]


@pytest.mark.parametrize("argv,commands", [([], ["neuron", "pairing", "plasticity", "learn"]),
                                           (["plasticity"], ["clamp", "frequency", "window"])])
def test_a_bare_command_prints_the_commands_it_has(argv, commands, capsys):
    """`cortex-sim` and `cortex-sim plasticity` alone show their help, not 'required: group'."""
    with pytest.raises(SystemExit) as exc:
        from cortex_sim.cli import build_parser

        build_parser().parse_args(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith("usage: cortex-sim") and "required" not in err
    assert all(c in err for c in commands)


def test_an_option_error_points_to_the_subcommand_help(capsys):
    assert main(["plasticity", "window", "--rate", "x"]) == 2
    assert "see 'cortex-sim plasticity window --help'" in capsys.readouterr().err


@pytest.mark.parametrize("argv,hint", [(["plasticity", "window", "--delta-t", "5"], "--delta-t: did you mean --delta-ts?"),
                                       (["learn", "--rule", "clapp", "--epoch", "2"], "--epoch: did you mean --epochs?")])
def test_option_typos_are_refused_with_a_suggestion_not_prefix_matched(argv, hint, capsys):
    """No silent prefix matching: --delta-t was --delta-ts before; now one line with the hint."""
    assert main(argv) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and hint in err[0] and f"see 'cortex-sim {' '.join(argv[:2 if argv[0] == 'plasticity' else 1])} --help'" in err[0]


def test_an_interrupted_study_reports_only_what_exists(tmp_path):
    """An early Ctrl-C said 'checkpoints kept in DIR; --resume continues' for a folder that did not
    exist: the message now lists the files kept, or says nothing was kept."""
    from cortex_sim.cli.learn import _kept_checkpoints

    assert _kept_checkpoints(tmp_path / "m24").startswith("nothing kept")
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "clapp_digits_seed0.npz").write_bytes(b"")
    msg = _kept_checkpoints(tmp_path)
    assert "checkpoints/clapp_digits_seed0.npz" in msg and "--resume" in msg
