"""The spiking learner end to end on a small network (issue 9): compiled once and streamed in chunks,
an interrupted training resumes to bit-identical weights, evaluation freezes everything, M = 0
learns nothing, the readout pipeline gives the rate path's JSON schema, and bad input is refused.

Small settings (digits, 12 + 12 neurons, 50 ms fixations, 18 fixations per chunk, 24 images) so
that the file runs in well under a minute after its one compile.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from cortex_sim.errors import ParameterError
from cortex_sim.learning.data import load_dataset
from cortex_sim.learning.spiking import (SpikingConfig, encode_spiking, make_network, spiking_preset,
                                         train_spiking, _input_rates)

SMALL = dict(neurons=(12, 12), t_fix_ms=50.0, slots=18, max_train_images=24, epochs=1)


@pytest.fixture(scope="module")
def setup():
    ds = load_dataset("digits")
    cfg = spiking_preset("digits", **SMALL)
    net = make_network("spiking-clapp", cfg, _input_rates(ds, cfg))
    return ds, cfg, net


class _Stop(Exception):
    pass


@pytest.mark.standalone
def test_compile_once_and_resume_to_identical_weights(setup, tmp_path):
    ds, cfg, net = setup
    full, _ = train_spiking("spiking-clapp", ds, cfg, 0, net=net, progress=False, checkpoint=tmp_path / "a.npz")
    assert len(full.history) == 1 and full.history[0]["rate_hz"] > 1.0   # the network fires

    def stop_after_two(epoch, index, state, counts):
        if index == 1:
            raise _Stop

    with pytest.raises(_Stop):
        train_spiking("spiking-clapp", ds, cfg, 0, net=net, progress=False, checkpoint=tmp_path / "b.npz",
                      on_chunk=stop_after_two)
    resumed, net2 = train_spiking("spiking-clapp", ds, cfg, 0, net=net, progress=False,
                                  checkpoint=tmp_path / "b.npz", resume=True)
    assert resumed.resumed_from == (0, 2)                  # two of the four chunks were kept
    assert set(resumed.state) == set(full.state)
    for k, v in full.state.items():
        assert np.array_equal(v, resumed.state[k]), k       # bit-identical
    assert any(not np.array_equal(v, net.initial_state(0)[k]) for k, v in full.state.items() if k.startswith("w"))
    # a new process (a resumed run) with the same settings reuses the project an earlier process
    # compiled. Two fresh processes are compared: this pytest worker may hold Brian2 objects of
    # earlier test modules, which renames generated code objects (``..._codeobject_1``) and so
    # keys a project of its own (see devices.network_fingerprint).
    code = ("import json; from cortex_sim.learning.data import load_dataset; "
            "from cortex_sim.learning.spiking import make_network, spiking_preset, _input_rates; "
            f"ds = load_dataset('digits'); cfg = spiking_preset('digits', **{SMALL!r}); "
            "net = make_network('spiking-clapp', cfg, _input_rates(ds, cfg)); "
            "print(json.dumps({'project': str(net.project), 'compiled': bool(net.compiled)}))")

    def fresh_process():
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    first = fresh_process()
    again = fresh_process()
    assert again == {"project": first["project"], "compiled": False}
    with pytest.raises(ParameterError, match="resume"):
        train_spiking("spiking-clopath", ds, cfg, 0, net=net, progress=False, checkpoint=tmp_path / "b.npz",
                      resume=True)


@pytest.mark.standalone
def test_broadcast_off_learns_nothing_and_evaluation_is_frozen(setup):
    ds, cfg, net = setup
    trained, _ = train_spiking("spiking-clapp", ds, cfg, 1, net=net, progress=False, ablation="broadcast-off")
    init = net.initial_state(1)
    for key in ("w1", "w2", "W_pred1", "W_pred2"):
        assert np.array_equal(trained.state[key], init[key]), key    # M = 0: no weight changes at all
    sub = load_dataset("digits")
    small = type(sub)(sub.name, sub.images[:16], sub.labels[:16], np.arange(8), np.arange(8, 16))
    a = encode_spiking(net, trained.state, small, cfg, seed=0, progress=False)
    b = encode_spiking(net, trained.state, small, cfg, seed=0, progress=False)
    assert [x.shape for x in a] == [(16, 3, 3, 12), (16, 3, 3, 12)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))           # frozen and deterministic
    assert a[0].sum() > 0 and a[1].sum() > 0


@pytest.mark.standalone
def test_stdp_wta_peer_trains_and_keeps_its_weight_sums(setup):
    ds, cfg, _ = setup
    net = make_network("stdp-wta", cfg, _input_rates(ds, cfg))
    trained, _ = train_spiking("stdp-wta", ds, cfg, 0, net=net, progress=False)
    init = net.initial_state(0)
    assert not np.array_equal(trained.state["w1"], init["w1"])
    _, j = net.synapse_index(1)
    sums = np.bincount(j, weights=trained.state["w1"])
    # Diehl & Cook's normalisation: each neuron's input weights sum to mean(w_init) x inputs = 16
    np.testing.assert_allclose(sums, 0.5 * 32, rtol=0.02)


@pytest.mark.codegen_independent
@pytest.mark.parametrize("changes,word", [
    (dict(t_fix_ms=0.5), "t_fix_ms"),            # shorter than 10 time steps
    (dict(neurons=(10,)), "neurons"),             # one layer
    (dict(rate_max_hz=-5.0), "rate_max_hz"),
    (dict(p_connect=(1.0,)), "p_connect"),
    (dict(slots=20), "slots"),
])
def test_bad_config(changes, word):
    with pytest.raises(ParameterError, match=word):
        SpikingConfig(**changes).grid((8, 8))


@pytest.mark.codegen_independent
@pytest.mark.parametrize("argv,word", [
    (["--rule", "spiking-clapp", "--ablation", "nope"], "ablation"),
    (["--rule", "spiking-clapp", "--t-fix", "0.3"], "t_fix_ms"),
    (["--rule", "spiking-clapp", "--rate-max", "-3"], "rate_max_hz"),
    (["--rule", "clapp", "--t-fix", "50"], "spiking options"),
    (["--rule", "spiking-clapp", "--dataset", "stl10"], "stl10"),
])
def test_cli_bad_input_one_line_exit_2(argv, word, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "cortex_sim.cli", "learn", "--dataset", "digits", "--seeds", "1",
                           "--out", str(tmp_path), "--no-figure", *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert word in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_json_schema_of_a_spiking_study(tmp_path):
    """The study's results follow the rate path's schema (layer 0 = raw pixels)."""
    pytest.importorskip("sklearn")
    from cortex_sim.learning.study import summarise

    rows = [{"layer": k, "accuracy": 0.5 + 0.1 * k, "C": 1.0, "validation_accuracy": 0.5, "n_features": 4}
            for k in range(3)]
    per_seed = [{"rule": "spiking-clapp", "seed": s, "config": {"epochs": 1}, "train_s": 1.0,
                 "readouts": {"patch-average": rows, "grid2x2": rows}} for s in range(2)]
    res = summarise(per_seed, "digits")
    r = json.loads(json.dumps(res.results))[0]
    assert r["rule"] == "spiking-clapp" and [x["layer"] for x in r["layers"]] == [0, 1, 2]
    assert r["layers"][1]["accuracy_mean"] == pytest.approx(0.6)
