"""Diehl & Cook 2015 on cortex_sim: the authors' voting readout on a constructed case,
the re-presentation rule, the weight normalisation inside the binary, resume to identical weights,
and a tiny training run that beats the untrained network by a margin measured over seeds.

One small compiled project (20 excitatory neurons, 20 images per run) serves every test that runs
the network; its equations and parameters are the authors' (cortex_sim.learning.diehl_cook.network).
"""

import numpy as np
import pytest

from cortex_sim.cli import main
from cortex_sim.errors import ParameterError
from cortex_sim.learning.diehl_cook import (DiehlCookConfig, DiehlCookNetwork, Stream, assign_labels,
                                            evaluate_diehl_cook, train_diehl_cook, vote)
from cortex_sim.learning.diehl_cook.network import N_INPUT, slot_spike_table
from cortex_sim.learning.diehl_cook.train import present_chunk

SMALL = dict(neurons=20, slots=20)


@pytest.fixture(scope="module")
def mnist():
    from cortex_sim.learning.data import load_dataset

    return load_dataset("mnist5k")


@pytest.fixture(scope="module")
def small_net():
    net = DiehlCookNetwork(DiehlCookConfig(**SMALL))
    yield net
    net.close()


# -- the readout --------------------------------------------------------------------------------
def test_voting_readout_on_a_constructed_case():
    """Neurons 0, 1 answer class 0, neuron 2 class 1, neuron 3 never fires (no vote). A class's
    score is the MEAN count of its neurons (the authors' summed rate / number of assignments), so
    an image with counts (3, 0, 2, 0) goes to class 1 (mean 2 > 1.5), which a sum would give to 0."""
    train = np.array([[4, 2, 0, 0], [3, 3, 1, 0], [0, 1, 5, 0], [1, 0, 4, 0]], float)
    labels = np.array([0, 0, 1, 1])
    assign = assign_labels(train, labels)
    assert assign.tolist() == [0, 0, 1, -1]
    test = np.array([[3, 0, 2, 0], [2, 2, 1, 9], [0, 0, 0, 0]], float)
    assert vote(test, assign).tolist() == [1, 0, 0]
    with pytest.raises(ParameterError, match="counts"):
        assign_labels(train, labels[:3])


# -- the re-presentation rule --------------------------------------------------------------------
class _FakeNet:
    """Counts by (image, intensity): image 7 is silent at intensity 2 and 3 and answers at 4;
    image 8 never answers; the others answer at once. Rates row k is (k, 1), so a shown row
    (k x intensity, intensity) tells the image and the intensity."""

    slots = 4

    def __init__(self):
        self.shown = []

    def run_chunk(self, state, rates, rng, learn=True):
        counts = np.zeros((self.slots, 3))
        for s, row in enumerate(rates):
            if not row.any():
                continue
            inten = float(row[1])
            image = int(round(row[0] / inten))
            self.shown.append((image, inten))
            counts[s, image % 3] = {7: 10 if inten >= 4 else 1, 8: 0}.get(image, 6)
        return state, counts, {}


def test_silent_images_are_shown_again_brighter_until_they_answer():
    cfg = DiehlCookConfig(neurons=3, min_spikes=5, max_intensity=6)
    rates = np.stack([np.arange(10.0), np.ones(10)], axis=1)
    net, stream = _FakeNet(), Stream([5, 7, 8, 9])
    out = np.full((4, 3), -1.0)
    while not stream.done:
        present_chunk(net, None, rates, stream, cfg, learn=True, rng_key=(0,), counts_out=out)
    assert [i for im, i in net.shown if im == 7] == [2.0, 3.0, 4.0]            # +1 per silent showing
    assert [i for im, i in net.shown if im == 8] == [2.0, 3.0, 4.0, 5.0, 6.0]  # up to max_intensity
    assert out[1].sum() == 10 and out[2].sum() == 0 and out[0].sum() == 6     # the answering showing counts
    assert stream.retries == 2 + 4 and stream.capped == 1


def test_a_chunk_keeps_its_intensities_within_the_spike_tables_budget():
    cfg = DiehlCookConfig(neurons=3, max_intensity=12)
    stream = Stream(list(range(10)), pending=[[0, 12.0], [1, 12.0]])
    stream.next = 2
    items = stream.fill(cfg, 4)                       # budget 4 x 4 = 16: one 12 fits, the next waits
    assert [list(i) for i in items] == [[0, 12.0]] and stream.pending == [[1, 12.0]]


def test_spike_table_has_the_image_rates_and_silent_rests():
    rng = np.random.default_rng(0)
    rates = np.zeros((2, 5))
    rates[0, 1] = 60.0
    rates[1, 3] = 30.0
    table = slot_spike_table(rates, 0.5, 0.35, 0.5e-3, rng, 200)
    t1 = table[:, 1][table[:, 1] < 1e8]
    t3 = table[:, 3][table[:, 3] < 1e8]
    assert np.all(t1 < 0.35) and np.all((t3 >= 0.5) & (t3 < 0.85))       # images only, no rest spikes
    assert abs(len(t1) - 60 * 0.35) < 5 * np.sqrt(60 * 0.35)                # Poisson count, 5 sd
    assert np.all(np.diff(t1) > 0) and not table[:, [0, 2, 4]].__lt__(1e8).any()


# -- the compiled network ------------------------------------------------------------------------
def test_input_weights_are_normalised_to_78_at_every_image(small_net, mnist):
    """With STDP off (nu = 0) and the normalisation on, every neuron's input weights leave a chunk
    summing to the authors' 78 (1e-9 relative), scaled by one factor per neuron."""
    from cortex_sim.learning.diehl_cook import image_rates

    cfg = small_net.config.with_(nu_pre=0.0, nu_post=0.0)
    net = small_net
    saved = net.config
    net.config = cfg
    try:
        state = net.initial_state(3)
        w0 = state["w"].copy()
        rates = image_rates(mnist.images[mnist.train[:net.slots]], 2.0)
        new, counts, _ = net.run_chunk(state, rates, np.random.default_rng(0), learn=True)
    finally:
        net.config = saved
    w1 = new["w"].reshape(N_INPUT, -1)
    assert np.allclose(w1.sum(axis=0), 78.0, rtol=1e-9, atol=0)
    factor = w1 / w0.reshape(N_INPUT, -1)
    assert np.allclose(factor, factor[0], rtol=1e-9)
    assert counts.sum() > 0


def test_resume_after_an_interrupt_gives_identical_weights(small_net, mnist, tmp_path):
    cfg = DiehlCookConfig(**SMALL, epochs=2, max_train_images=50, curve=())
    full, _ = train_diehl_cook(mnist, cfg, 1, net=small_net, checkpoint=tmp_path / "a.npz", progress=False)
    calls = {"n": 0}
    run = small_net.run_chunk

    def stop_at_the_fourth(*a, **k):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return run(*a, **k)

    small_net.run_chunk = stop_at_the_fourth
    try:
        with pytest.raises(KeyboardInterrupt):
            train_diehl_cook(mnist, cfg, 1, net=small_net, checkpoint=tmp_path / "b.npz", progress=False)
    finally:
        del small_net.run_chunk
    resumed, _ = train_diehl_cook(mnist, cfg, 1, net=small_net, checkpoint=tmp_path / "b.npz", resume=True,
                                  progress=False)
    assert resumed.resumed_from is not None and resumed.presentations == full.presentations == 100
    assert np.array_equal(resumed.state["w"], full.state["w"])
    assert np.array_equal(resumed.state["theta"], full.state["theta"])
    with pytest.raises(ParameterError, match="resume"):
        train_diehl_cook(mnist, cfg, 2, net=small_net, checkpoint=tmp_path / "b.npz", resume=True, progress=False)


# measured over seeds 0-4 with these settings (2026-12-07, 2-core vm, class-balanced evaluation
# subsets): untrained voting 17-24 %, after 300 training images 40-48 %; the gain 0.18 to 0.28 (mean
# 0.23); linear readout 33-39 % -> 51-63 %. The margin asserted is about half the smallest gain.
TINY = dict(**SMALL, epochs=1, max_train_images=300, curve=(), eval_images=300)


@pytest.mark.parametrize("seed", [1])   # one seed in the suite (16 s); the margin's basis is 5 seeds above
def test_a_tiny_training_run_beats_the_untrained_network(small_net, mnist, seed):
    cfg = DiehlCookConfig(**TINY)
    before = evaluate_diehl_cook(small_net, small_net.initial_state(seed), mnist, cfg, seed)
    trained, _ = train_diehl_cook(mnist, cfg, seed, net=small_net, progress=False)
    after = evaluate_diehl_cook(small_net, trained.state, mnist, cfg, seed)
    assert after["voting"] > before["voting"] + MARGIN, (before["voting"], after["voting"])
    assert after["linear"] > before["linear"], (before["linear"], after["linear"])


MARGIN = 0.10


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("changes, match", [
    (dict(neurons=0), "neurons: got 0"),
    (dict(max_intensity=80.0), "max_intensity"),
    (dict(curve=(2000, 1000)), "curve"),
    (dict(intensity=-1.0), "intensity"),
])
def test_bad_settings_are_named(changes, match):
    with pytest.raises(ParameterError, match=match):
        DiehlCookConfig(**changes)
    with pytest.raises(ParameterError, match="did you mean 'neurons'"):
        DiehlCookConfig().with_(neuron=10)


@pytest.mark.parametrize("argv, match", [
    (["--rule", "clapp,diehl-cook"], "diehl-cook alone"),
    (["--rule", "diehl-cook", "--ablation", "hinge"], "--ablation"),
    (["--rule", "diehl-cook", "--dataset", "digits"], "--dataset: got 'digits'"),
    (["--rule", "diehl-cook", "--neurons", "0"], "--neurons: got 0"),
    (["--rule", "clapp", "--repeat-train", "3"], "--repeat-train"),
    (["--rule", "diehl-cook", "--eval-images", "3"], "eval_images: got 3"),
])
def test_bad_cli_input_is_one_line_and_exit_2(capsys, tmp_path, argv, match):
    rc = main(["learn", *argv, "--out", str(tmp_path), "--no-progress"])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and match in err, err


def test_learn_diehl_cook_writes_results_table_figures_and_reuses_finished_seeds(capsys, tmp_path):
    """The CLI study end to end on a tiny schedule: JSON schema, the table with the anchors, the
    learning-curve and weight figures; --resume reads a finished seed back without training."""
    import json

    out = tmp_path / "dc"
    argv = ["learn", "--rule", "diehl-cook", "--neurons", "20", "--epochs", "1", "--max-train-images", "40",
            "--eval-images", "50", "--seeds", "1", "--out", str(out), "--no-progress", "--json"]
    assert main(argv) == 0
    res = json.loads(capsys.readouterr().out)
    r = res["results"][0]
    assert r["rule"] == "diehl-cook-20" and r["seeds"] == 1 and r["presentations"] == 40
    assert 0 <= r["voting_mean"] <= 1 and 0 <= r["linear_mean"] <= 1 and r["images_per_s_mean"] > 0
    assert r["curve"][-1]["presentations"] == 40 and r["curve"][-1]["assign_images"] == 50
    for name in ("results.json", "diehl_cook.md", "diehl_cook_curve.png", "diehl_cook_fields.png"):
        assert (out / name).stat().st_size > 0, name
    assert "| diehl-cook-20 (20 exc + 20 inh) | 1 | 1 x 1 | 40 |" in (out / "diehl_cook.md").read_text()
    stamp = (out / "readouts" / "diehl-cook-20_mnist5k_seed0.json").stat().st_mtime_ns
    assert main([*argv, "--resume"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["voting_mean"] == r["voting_mean"]
    assert (out / "readouts" / "diehl-cook-20_mnist5k_seed0.json").stat().st_mtime_ns == stamp
    assert main(argv) == 2                               # a finished study is not overwritten silently
    assert "--resume" in capsys.readouterr().err


def test_the_readmes_diehl_cook_figures_replot_from_the_stored_results(tmp_path, capsys):
    assert main(["figures", "--only", "diehl_cook_curve,diehl_cook_fields", "--out", str(tmp_path)]) == 0
    for name in ("diehl_cook_curve.png", "diehl_cook_fields.png"):
        assert (tmp_path / name).stat().st_size > 20_000
