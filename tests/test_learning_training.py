"""Training of the encoder: learning lowers the CLAPP loss, checkpoints resume bit-identically."""

import numpy as np
import pytest

from cortex_sim.errors import ParameterError
from cortex_sim.learning import train as train_mod
from cortex_sim.learning.data import load_dataset
from cortex_sim.learning.train import LearnConfig, learn_preset, train_encoder, training_flops

pytestmark = pytest.mark.codegen_independent

TINY = LearnConfig(dataset="digits", patch_size=4, patch_stride=2, channels=(4, 8, 8, 16), pool_after=(2, 4),
                   batch_size=16, epochs=2, max_train_images=128, lr=3e-3)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits").training_images()


def _same(a, b):
    return all(np.array_equal(wa, wb) and np.array_equal(ba, bb) for (wa, ba), (wb, bb) in zip(a.weights, b.weights))


def test_clapp_s_training_lowers_every_layers_loss(digits):
    cfg = LearnConfig(**{**TINY.__dict__, "epochs": 6, "max_train_images": 512})
    res = train_encoder("clapp-s", digits, cfg, seed=0, progress=False)
    first, last = res.history[0]["loss"], res.history[-1]["loss"]
    # the hinge loss starts near 1 (u ~ 0) and must fall in every layer within 6 epochs;
    # top layer measured 0.99 -> 0.79, asserted a fall of more than 10 %
    assert all(b < a for a, b in zip(first, last)), (first, last)
    assert last[-1] < 0.9 * first[-1]


def test_resume_after_interruption_gives_bit_identical_weights(digits, tmp_path, monkeypatch):
    full = train_encoder("clapp", digits, TINY, seed=3, progress=False)
    ckpt = tmp_path / "run.npz"
    calls = {"n": 0}
    real = train_mod.rule_gradients

    def interrupt_in_epoch_2(*a, **k):
        calls["n"] += 1
        if calls["n"] == 8 + 3:  # 8 batches per epoch: die in the middle of epoch 2
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(train_mod, "rule_gradients", interrupt_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        train_encoder("clapp", digits, TINY, seed=3, checkpoint=ckpt, progress=False)
    monkeypatch.setattr(train_mod, "rule_gradients", real)
    header = train_mod.load_checkpoint(ckpt)[0]
    assert header["epoch"] == 1                   # at most one epoch lost
    resumed = train_encoder("clapp", digits, TINY, seed=3, checkpoint=ckpt, resume=True, progress=False)
    assert resumed.resumed_from == 1
    assert _same(full, resumed)
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in full.history]


@pytest.mark.parametrize("rule", ["clapp-fb", "dfa", "pc", "bp"])
def test_every_rule_resumes_bit_identically(digits, tmp_path, rule):
    cfg = LearnConfig(**{**TINY.__dict__, "pc_steps": 3, "max_train_images": 32})
    full = train_encoder(rule, digits, cfg, seed=1, progress=False)
    one = LearnConfig(**{**cfg.__dict__, "epochs": 1})
    train_encoder(rule, digits, one, seed=1, checkpoint=tmp_path / "c.npz", progress=False)
    more = train_encoder(rule, digits, cfg, seed=1, checkpoint=tmp_path / "c.npz", resume=True, progress=False)
    assert more.resumed_from == 1 and _same(full, more)


def test_resume_refuses_a_checkpoint_of_other_settings(digits, tmp_path):
    train_encoder("clapp", digits, TINY, seed=0, checkpoint=tmp_path / "c.npz", progress=False)
    with pytest.raises(ParameterError, match="seed"):
        train_encoder("clapp", digits, TINY, seed=1, checkpoint=tmp_path / "c.npz", resume=True, progress=False)
    with pytest.raises(ParameterError, match="rule"):
        train_encoder("dfa", digits, TINY, seed=0, checkpoint=tmp_path / "c.npz", resume=True, progress=False)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ParameterError, match="not a readable"):
        train_encoder("clapp", digits, TINY, seed=0, checkpoint=tmp_path / "bad.npz", resume=True, progress=False)


def test_bad_settings_are_refused(digits):
    with pytest.raises(ParameterError, match="channels"):
        LearnConfig(channels=(8,), pool_after=())
    with pytest.raises(ParameterError, match="patch_size"):
        LearnConfig(patch_size=2, pool_after=(1, 2, 3))
    with pytest.raises(ParameterError, match="lr"):
        LearnConfig(lr=0)
    with pytest.raises(ParameterError, match="patch_size"):
        train_encoder("clapp", digits, LearnConfig(), progress=False)   # 10 x 10 patches on 8 x 8 images
    with pytest.raises(ParameterError, match="at least batch_size"):
        train_encoder("clapp", digits[:10], TINY, progress=False)
    with pytest.raises(ParameterError, match="NaN"):
        train_encoder("clapp", np.full((4, 8, 8), np.nan), TINY, progress=False)
    with pytest.raises(ParameterError, match="preset"):
        learn_preset("stl10")


def test_stl10_paper_preset_is_vgg6_on_16px_patches():
    cfg = learn_preset("stl10-paper")
    assert cfg.channels == (128, 256, 256, 512, 1024, 1024) and cfg.pool_after == (2, 4, 5, 6)
    assert cfg.grid((64, 64)) == (7, 7)
    fl, per_patch = training_flops(cfg, (64, 64), 1)
    # forward of one 16 x 16 patch, counted by hand: 2*9*(256*1*128 + 256*128*256 + 64*256*256
    # + 64*256*512 + 16*512*1024 + 4*1024*1024) multiply-adds
    assert per_patch == 2 * 9 * (256 * 128 + 256 * 128 * 256 + 64 * 256 * 256 + 64 * 256 * 512
                                 + 16 * 512 * 1024 + 4 * 1024 * 1024)
    assert fl == 2 * per_patch * 49


def test_diverging_training_is_one_job_failure_naming_lr(capsys):
    """lr = 1e30 makes every weight non-finite in the first batches: the epoch ends in one error that
    the CLI prints as one line with exit 1 (JobFailedError), still a FloatingPointError, and no
    overflow warnings on the way."""
    from cortex_sim.errors import JobFailedError, TrainingDiverged

    ds = load_dataset("digits")
    cfg = LearnConfig(dataset="digits", patch_size=4, patch_stride=2, channels=(8, 16), pool_after=(),
                      steps_ahead=(1,), epochs=1, batch_size=32, max_train_images=64, lr=1e30)
    with pytest.raises(TrainingDiverged, match=r"diverged in epoch 1.*smaller lr \(got 1e\+30\)") as exc:
        train_encoder("clapp", ds.training_images(), cfg, seed=0, progress=False)
    assert isinstance(exc.value, JobFailedError) and isinstance(exc.value, FloatingPointError)
    assert "Warning" not in capsys.readouterr().err


def test_layer_accuracies_of_a_subset_are_those_of_the_full_readout():
    """Each layer's readout is fitted on its own: reading out the top layer alone (as the margin test
    does) gives exactly its number in the full list; a layer that does not exist is refused."""
    from cortex_sim.learning.study import layer_accuracies
    from cortex_sim.learning.train import untrained_weights

    ds = load_dataset("digits")
    cfg = LearnConfig(dataset="digits", patch_size=4, patch_stride=2, channels=(8, 16), pool_after=(),
                      steps_ahead=(1,), epochs=1)
    w = untrained_weights(cfg, 0)
    full = layer_accuracies(w, cfg, ds, 0)
    assert layer_accuracies(w, cfg, ds, 0, layers=[2, 1]) == [full[1], full[0]]
    with pytest.raises(ParameterError, match="layers: got 3"):
        layer_accuracies(w, cfg, ds, 0, layers=[3])
