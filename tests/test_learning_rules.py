"""Learning-rule kernels of CLAPP and its rivals against finite differences and each other.

Everything runs in float64 on a tiny encoder (channels 3-4-4-5, 6 x 6 patches) so that central
differences (step 1e-6) are accurate to ~1e-7 relative; tolerances are stated per test.
"""

import numpy as np
import pytest

from cortex_sim.errors import UnknownNameError
from cortex_sim.learning.data import clapp_pairs, saccade_pairs
from cortex_sim.learning.encoder import (Architecture, forward, init_weights, layer_backward, layer_forward,
                                         pooled)
from cortex_sim.learning.rules import (RULES, _pair_signals, hinge_kernel, init_rule_weights, published_loss,
                                      rule_gradients)

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
    if rule in ("clapp", "clapp-fb"):    # the published rule: offset 2, one sign per image and loss
        pairs = [{"pred": clapp_pairs(n_images, 3, 3, 2, rng), "retro": clapp_pairs(n_images, 3, 3, 2, rng)}]
    else:
        pairs = [saccade_pairs(n_images, 3, 3, 1, rng, n_negatives=2)]
    return weights, learned, fixed, x, pairs


def _loss(layer, weights, learned, x, pairs, context_layer=None):
    outs, _ = forward(x, weights, ARCH)
    z = pooled(outs[layer])
    c = z if context_layer is None else pooled(outs[context_layer])
    key = f"pred{layer}" if context_layer is None else f"fb{layer}"
    return _pair_signals(z, c, learned[key], pairs)[0]


def _fd_array(arr, loss_fn, entries):
    """Central differences of ``loss_fn()`` in the given entries of ``arr`` (changed in place, restored)."""
    out = []
    for idx in entries:
        old = arr[idx]
        arr[idx] = old + EPS
        up = loss_fn()
        arr[idx] = old - EPS
        down = loss_fn()
        arr[idx] = old
        out.append((up - down) / (2 * EPS))
    return np.array(out)


def _fd_weight(layer_w, weights, loss_fn, entries):
    return _fd_array(weights[layer_w][0], loss_fn, entries)


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


def test_flipping_the_broadcast_sign_flips_the_update():
    """First broadcast factor: for a pair gated under both signs (|u| < 1), y = -1 gives exactly
    the negative of the y = +1 update, on z, c and W_pred (a non-zero signal: this fails if the
    sign is dropped)."""
    rng = np.random.default_rng(7)
    z, c, w = rng.random((1, 3)), rng.random((1, 4)), 0.1 * rng.standard_normal((3, 4))
    assert abs(float(z @ w @ c.T)) < 1
    _, gate_p, gz_p, gc_p, gw_p = hinge_kernel(z, c, w, np.array([1.0]))
    _, gate_n, gz_n, gc_n, gw_n = hinge_kernel(z, c, w, np.array([-1.0]))
    assert gate_p[0] and gate_n[0]
    for pos, neg in ((gz_p, gz_n), (gc_p, gc_n), (gw_p, gw_n)):
        assert np.abs(pos).min() > 1e-4                       # a real signal
        np.testing.assert_array_equal(neg, -pos)


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


def test_clapp_s_layers_learn_from_their_own_loss_only():
    weights, learned, fixed, x, pairs = _setup("clapp-s")
    grads, stats = rule_gradients("clapp-s", x, weights, learned, fixed, ARCH, pairs)
    assert all(v > 0 for v in stats["loss"])
    for layer in range(4):
        # the update of layer l is the gradient of layer l's own hinge loss (rel. 1e-5)
        ent = _entries(weights[layer][0], seed=layer)
        fd = _fd_weight(layer, weights, lambda layer=layer: _loss(layer, weights, learned, x, pairs), ent)
        np.testing.assert_allclose([grads[("enc", layer)][0][e] for e in ent], fd, rtol=1e-5, atol=1e-9)
    # no signal between layers: changing the layers above (and their W_pred) leaves layer 1 unchanged
    weights2 = list(weights[:1]) + [(w * 1.7, b) for w, b in weights[1:]]
    learned2 = {**learned, "pred3": learned["pred3"] * -2}
    grads2, _ = rule_gradients("clapp-s", x, weights2, learned2, fixed, ARCH, pairs)
    np.testing.assert_array_equal(grads2[("enc", 0)][0], grads[("enc", 0)][0])


def _fd_detached(layer, weights, loss_of_codes, entries):
    """Finite differences of ``loss_of_codes(z_now, z_ref)`` in the weights of ``layer``, where
    z_now are the pooled codes recomputed with the perturbed weights and z_ref those of the
    unperturbed network (the detached side)."""
    ref = [pooled(o) for o in forward(X_CACHE["x"], weights, ARCH)[0]]

    def f():
        return loss_of_codes([pooled(o) for o in forward(X_CACHE["x"], weights, ARCH)[0]], ref)

    return _fd_weight(layer, weights, f, entries)


X_CACHE = {}


def test_published_clapp_update_is_the_gradient_with_the_detached_side_held():
    """clapp (published): the encoder update of layer l is the finite-difference gradient of
    L_pred(z(W), c fixed) + L_retro(z fixed, c(W)) of its own layer (rel. 1e-5), and the W_pred /
    W_retro updates are the gradients of their own hinge; nothing crosses layers."""
    weights, learned, fixed, x, pairs = _setup("clapp")
    X_CACHE["x"] = x
    assert set(learned) == {f"{k}{layer}" for k in ("pred", "retro") for layer in range(4)}
    grads, stats = rule_gradients("clapp", x, weights, learned, fixed, ARCH, pairs)
    assert all(v > 0 for v in stats["loss"])
    for layer in range(4):
        def loss(now, ref, layer=layer):   # prediction: target moves; retrodiction: context moves
            lp = published_loss(now[layer], ref[layer], learned[f"pred{layer}"], None, pairs)
            only_retro = [{"pred": p["retro"]} for p in pairs]
            lr = published_loss(ref[layer], now[layer], learned[f"retro{layer}"], None, only_retro)
            return lp + lr
        ent = _entries(weights[layer][0], seed=layer)
        fd = _fd_detached(layer, weights, loss, ent)
        np.testing.assert_allclose([grads[("enc", layer)][0][e] for e in ent], fd, rtol=1e-5, atol=1e-9)
    # the prediction matrix's update is the gradient of its own loss
    z = [pooled(o) for o in forward(x, weights, ARCH)[0]]
    w = learned["pred2"]
    ent = _entries(w, seed=9)
    fd = _fd_array(w, lambda: published_loss(z[2], z[2], w, None, pairs), ent)
    np.testing.assert_allclose([grads["pred2"][e] for e in ent], fd, rtol=1e-6, atol=1e-10)


def test_published_clapp_applies_one_sign_per_sample():
    """Local in time: every image gets one broadcast value per loss (all its pairs +1, or all -1,
    the negatives from one other image at every location), about half of them each; an image's
    W_pred update has that one sign."""
    rng = np.random.default_rng(0)
    signs = []
    for _ in range(200):
        ctx, tgt, y = clapp_pairs(8, 5, 4, 2, rng)
        img_ctx, img_tgt = ctx // 20, tgt // 20
        for b in range(8):
            mine = img_ctx == b
            assert len(set(y[mine].tolist())) == 1                 # one sign per image
            partners = set(img_tgt[mine].tolist())
            assert partners == {b} if y[mine][0] > 0 else (len(partners) == 1 and b not in partners)
            signs.append(y[mine][0])
    assert np.mean(np.array(signs) > 0) == pytest.approx(0.5, abs=0.05)    # 1600 coin flips
    # one image alone in a loss: its update is -y gate z c^T, all of one sign for non-negative codes
    z, c, w = np.abs(rng.random((3, 4))), np.abs(rng.random((3, 4))), 0.01 * np.eye(4)
    for sign in (1.0, -1.0):
        _, gate, _, _, g_w = hinge_kernel(z, c, w, np.full(3, sign), halve=False)
        assert gate.all() and np.all(np.sign(g_w[g_w != 0]) == -sign)


def test_clapp_fb_update_is_the_gradient_of_its_own_loss():
    """clapp-fb: the update of a lower layer is the finite-difference gradient of its top-down
    loss L(z_l(W), c_{l+1} held fixed) (rel. 1e-5), the feedback weights B_l follow the gradient
    of the same loss, and changing B_0 changes layer 0's update."""
    weights, learned, fixed, x, pairs = _setup("clapp-fb")
    X_CACHE["x"] = x
    assert set(learned) == {"fb0", "fb1", "fb2", "pred3", "retro3"}
    grads, _ = rule_gradients("clapp-fb", x, weights, learned, fixed, ARCH, pairs)
    for layer in range(3):
        def loss(now, ref, layer=layer):
            return published_loss(now[layer], ref[layer + 1], learned[f"fb{layer}"], None, pairs)
        ent = _entries(weights[layer][0], seed=layer)
        fd = _fd_detached(layer, weights, loss, ent)
        np.testing.assert_allclose([grads[("enc", layer)][0][e] for e in ent], fd, rtol=1e-5, atol=1e-9)
    z = [pooled(o) for o in forward(x, weights, ARCH)[0]]
    b = learned["fb1"]
    ent = _entries(b, seed=4)
    fd = _fd_array(b, lambda: published_loss(z[1], z[2], b, None, pairs), ent)
    np.testing.assert_allclose([grads["fb1"][e] for e in ent], fd, rtol=1e-6, atol=1e-10)
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
    assert set(RULES) == {"clapp", "clapp-s", "clapp-fb", "dfa", "pc", "bp", "random"}
    with pytest.raises(UnknownNameError, match="did you mean 'clapp'"):
        init_rule_weights("clap", ARCH, 1, np.random.default_rng(0))


@pytest.mark.codegen_independent
def test_the_rule_registries_describe_every_rule():
    """One entry per rule (rate and spiking), with the properties the trainers branch on."""
    from cortex_sim.learning.rules import PUBLISHED_CLAPP, RULE_REGISTRY, RULES
    from cortex_sim.learning.spiking import SPIKING_RULE_REGISTRY
    from cortex_sim.learning.spiking.train import SPIKING_RULES
    from cortex_sim.learning.results import rule_traits

    assert RULES == tuple(RULE_REGISTRY) and SPIKING_RULES == tuple(SPIKING_RULE_REGISTRY)
    assert set(PUBLISHED_CLAPP) == {"clapp", "clapp-fb"}                 # Illing et al. 2021's pairs
    for spec in RULE_REGISTRY.values():
        assert spec.below in ("lateral", "learned-feedback", "dfa", "bp", "pc", None), spec
        assert spec.learns == (spec.below is not None), spec
        assert rule_traits(spec.name) == spec.traits and len(spec.traits) == 3
    assert [r.name for r in RULE_REGISTRY.values() if not r.learns] == ["random"]
    assert {r.name for r in SPIKING_RULE_REGISTRY.values() if r.broadcast == "on"} == {"spiking-clopath", "stdp-wta"}
    assert rule_traits("spiking-clapp/no-apical") == SPIKING_RULE_REGISTRY["spiking-clapp"].traits
