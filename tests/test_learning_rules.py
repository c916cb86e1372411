"""Learning-rule kernels of CLAPP and its rivals against finite differences and each other (issue 5).

Everything runs in float64 on a tiny encoder (channels 3-4-4-5, 6 x 6 patches) so that central
differences (step 1e-6) are accurate to ~1e-7 relative; tolerances are stated per test.
"""

import numpy as np
import pytest

from cortex_sim.errors import UnknownNameError
from cortex_sim.learning.data import saccade_pairs
from cortex_sim.learning.encoder import (Architecture, forward, init_weights, layer_backward, layer_forward,
                                         pooled)
from cortex_sim.learning.rules import RULES, _pair_signals, hinge_kernel, init_rule_weights, rule_gradients

pytestmark = pytest.mark.codegen_independent

ARCH = Architecture(channels=(3, 4, 4, 5), pool_after=(2, 4))
EPS = 1e-6


def _setup(rule, seed=0, n_images=4):
    rng = np.random.default_rng(seed)
    weights = [(w.astype(float), (b + 0.05 * rng.standard_normal(b.shape)).astype(float))
               for w, b in init_weights(ARCH, rng)]
    learned, fixed = init_rule_weights(rule, ARCH, 1, rng)
    learned = {k: v.astype(float) * 3 for k, v in learned.items()}
    fixed = {k: v.astype(float) for k, v in fixed.items()}
    x = rng.random((n_images * 9, 6, 6, 1))  # 3 x 3 patch grid per image
    pairs = [saccade_pairs(n_images, 3, 3, 1, rng, n_negatives=2)]
    return weights, learned, fixed, x, pairs


def _loss(layer, weights, learned, x, pairs, context_layer=None):
    outs, _ = forward(x, weights, ARCH)
    z = pooled(outs[layer])
    c = z if context_layer is None else pooled(outs[context_layer])
    key = f"pred{layer}" if context_layer is None else f"fb{layer}"
    return _pair_signals(z, c, learned[key], pairs)[0]


def _fd_weight(layer_w, weights, loss_fn, entries):
    out = []
    for idx in entries:
        w = weights[layer_w][0]
        old = w[idx]
        w[idx] = old + EPS
        up = loss_fn()
        w[idx] = old - EPS
        down = loss_fn()
        w[idx] = old
        out.append((up - down) / (2 * EPS))
    return np.array(out)


def _entries(w, n=6, seed=0):
    rng = np.random.default_rng(seed)
    return [tuple(rng.integers(0, s) for s in w.shape) for _ in range(n)]


def test_hinge_kernel_matches_finite_differences():
    rng = np.random.default_rng(3)
    z, c, w = rng.random((7, 4)), rng.random((7, 3)), rng.standard_normal((4, 3))
    y = np.array([1, 1, 1, -1, -1, -1, -1.0])
    loss, gate, g_z, g_c, g_w = hinge_kernel(z, c, w, y)
    u = np.einsum("ij,jk,ik->i", z, w, c)
    # positives and negatives weigh equally: (mean over 3 positives + mean over 4 negatives) / 2
    expected = (np.maximum(0, 1 - u[:3]).mean() + np.maximum(0, 1 + u[3:]).mean()) / 2
    assert loss == pytest.approx(expected, rel=1e-12)
    for arr, grad in ((z, g_z), (c, g_c), (w, g_w)):
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + EPS
            up = hinge_kernel(z, c, w, y)[0]
            arr[idx] = old - EPS
            down = hinge_kernel(z, c, w, y)[0]
            arr[idx] = old
            assert grad[idx] == pytest.approx((up - down) / (2 * EPS), rel=1e-6, abs=1e-9)


def test_hinge_kernel_is_silent_where_the_loss_is_zero():
    # second broadcast factor: a pair with y u >= 1 changes nothing
    z, c, w = np.ones((2, 2)), np.ones((2, 2)), np.eye(2)   # u = 2
    _, gate, g_z, g_c, g_w = hinge_kernel(z, c, w, np.array([1.0, -1.0]))
    assert gate.tolist() == [False, True]
    assert np.all(g_z[0] == 0) and np.all(g_c[0] == 0) and np.any(g_z[1] != 0)
    # first broadcast factor: flipping y flips the sign of the update of a gated pair
    _, _, g_neg, _, _ = hinge_kernel(z[:1], c[:1], w * -1, np.array([-1.0]))
    _, _, g_pos, _, _ = hinge_kernel(z[:1], c[:1], w * -1, np.array([1.0]))
    assert g_pos[0] @ g_neg[0] == 0 or np.allclose(g_pos, 0)


def test_layer_backward_matches_finite_differences():
    weights, _, _, x, _ = _setup("bp")
    rng = np.random.default_rng(5)
    outs, caches = forward(x, weights, ARCH)
    inputs = [x] + outs[:-1]
    for layer in (0, 1, 3):  # a plain layer, a pooled layer, the top pooled layer
        probe = rng.standard_normal(outs[layer].shape)
        pool = layer + 1 in ARCH.pool_after

        def f(layer=layer, probe=probe, pool=pool):
            return float(np.sum(layer_forward(inputs[layer], weights[layer], pool)[0] * probe))

        dw, _, dx = layer_backward(caches[layer], probe, weights[layer], need_input_grad=True)
        ent = _entries(weights[layer][0])
        np.testing.assert_allclose([dw[e] for e in ent], _fd_weight(layer, weights, f, ent), rtol=1e-5, atol=1e-8)
        # the input gradient (used by bp and pc only), on a few input entries
        for e in _entries(inputs[layer], n=4, seed=layer):
            old = inputs[layer][e]
            inputs[layer][e] = old + EPS
            up = f()
            inputs[layer][e] = old - EPS
            down = f()
            inputs[layer][e] = old
            assert dx[e] == pytest.approx((up - down) / (2 * EPS), rel=1e-5, abs=1e-8)


def test_bp_is_the_exact_gradient_of_the_top_loss():
    weights, learned, fixed, x, pairs = _setup("bp")
    grads, stats = rule_gradients("bp", x, weights, learned, fixed, ARCH, pairs)
    assert stats["loss"][3] > 0 and np.isnan(stats["loss"][0])
    for layer in range(4):
        ent = _entries(weights[layer][0], seed=layer)
        fd = _fd_weight(layer, weights, lambda: _loss(3, weights, learned, x, pairs), ent)
        np.testing.assert_allclose([grads[("enc", layer)][0][e] for e in ent], fd, rtol=1e-5, atol=1e-9)


def test_clapp_layers_learn_from_their_own_loss_only():
    weights, learned, fixed, x, pairs = _setup("clapp")
    grads, stats = rule_gradients("clapp", x, weights, learned, fixed, ARCH, pairs)
    assert all(v > 0 for v in stats["loss"])
    for layer in range(4):
        # the update of layer l is the gradient of layer l's own hinge loss (rel. 1e-5)
        ent = _entries(weights[layer][0], seed=layer)
        fd = _fd_weight(layer, weights, lambda layer=layer: _loss(layer, weights, learned, x, pairs), ent)
        np.testing.assert_allclose([grads[("enc", layer)][0][e] for e in ent], fd, rtol=1e-5, atol=1e-9)
    # no signal between layers: changing the layers above (and their W_pred) leaves layer 1 unchanged
    weights2 = list(weights[:1]) + [(w * 1.7, b) for w, b in weights[1:]]
    learned2 = {**learned, "pred3": learned["pred3"] * -2}
    grads2, _ = rule_gradients("clapp", x, weights2, learned2, fixed, ARCH, pairs)
    np.testing.assert_array_equal(grads2[("enc", 0)][0], grads[("enc", 0)][0])


def test_clapp_fb_prediction_comes_from_the_layer_above():
    weights, learned, fixed, x, pairs = _setup("clapp-fb")
    assert set(learned) == {"fb0", "fb1", "fb2", "pred3"}
    grads, _ = rule_gradients("clapp-fb", x, weights, learned, fixed, ARCH, pairs)
    outs, _ = forward(x, weights, ARCH)
    _, _, _, _, g_fb = _pair_signals(pooled(outs[1]), pooled(outs[2]), learned["fb1"], pairs)
    np.testing.assert_allclose(grads["fb1"], g_fb, rtol=1e-12)
    # the top-down weights shape the lower layer's update
    learned2 = {**learned, "fb0": learned["fb0"] * -1}
    grads2, _ = rule_gradients("clapp-fb", x, weights, learned2, fixed, ARCH, pairs)
    assert not np.allclose(grads2[("enc", 0)][0], grads[("enc", 0)][0])


def test_dfa_top_layer_is_exact_and_lower_layers_use_fixed_random_feedback():
    weights, learned, fixed, x, pairs = _setup("dfa")
    g_dfa, _ = rule_gradients("dfa", x, weights, learned, fixed, ARCH, pairs)
    g_bp, _ = rule_gradients("bp", x, weights, learned, fixed, ARCH, pairs)
    np.testing.assert_allclose(g_dfa[("enc", 3)][0], g_bp[("enc", 3)][0], rtol=1e-12)
    fixed2 = {k: -v for k, v in fixed.items()}  # flipping the random feedback flips the lower updates
    g_flip, _ = rule_gradients("dfa", x, weights, learned, fixed2, ARCH, pairs)
    np.testing.assert_allclose(g_flip[("enc", 0)][0], -g_dfa[("enc", 0)][0], rtol=1e-12)


def test_pc_errors_spread_one_layer_per_step_and_approach_backprop():
    weights, learned, fixed, x, pairs = _setup("pc")
    for steps in (1, 2):
        g, _ = rule_gradients("pc", x, weights, learned, fixed, ARCH, pairs, pc_steps=steps, pc_rate=0.2)
        reached = [bool(np.any(g[("enc", layer)][0] != 0)) for layer in range(4)]
        assert reached == [layer >= 4 - steps for layer in range(4)]
    # Whittington & Bogacz 2017: at equilibrium, for a weak output nudge (beta -> 0), the prediction
    # errors / beta are the backprop errors. 500 steps of 0.2 with beta = 1e-3: measured cosine
    # 1.0000 and norm ratio 0.998-1.003 per layer; asserted cosine > 0.999 and ratio within 2 %.
    g_pc, _ = rule_gradients("pc", x, weights, learned, fixed, ARCH, pairs, pc_steps=500, pc_rate=0.2,
                             pc_beta=1e-3)
    g_bp, _ = rule_gradients("bp", x, weights, learned, fixed, ARCH, pairs)
    for layer in range(4):
        a, b = g_pc[("enc", layer)][0].ravel(), g_bp[("enc", layer)][0].ravel()
        assert a @ b / np.linalg.norm(a) / np.linalg.norm(b) > 0.999, layer
        assert np.linalg.norm(a) / np.linalg.norm(b) == pytest.approx(1, abs=0.02), layer


def test_random_rule_learns_nothing_and_unknown_rules_are_refused():
    weights, learned, fixed, x, pairs = _setup("random")
    assert learned == {} and rule_gradients("random", x, weights, learned, fixed, ARCH, pairs)[0] == {}
    assert set(RULES) == {"clapp", "clapp-fb", "dfa", "pc", "bp", "random"}
    with pytest.raises(UnknownNameError, match="did you mean 'clapp'"):
        init_rule_weights("clap", ARCH, 1, np.random.default_rng(0))
