"""Learning rules for the encoder: CLAPP and its rivals, one code path.

Every rule computes, for one batch, a learning signal ``g_l`` on each layer's patch encoding and
hands it to the same local weight update (:func:`cortex_sim.learning.encoder.layer_backward`):
``dw_ij = sum over positions of g_i rho'(a_i) x_j``. The rules differ only in where ``g_l`` comes
from (Illing et al. 2021, NeurIPS; the lecture's Table 1):

``clapp``
    The published rule (Illing et al. 2021; the official code's ``--asymmetric_W_pred
    --either_pos_or_neg_update --sample_negs_locally_same_everywhere``, prediction_step 5,
    skip_step 1). Two layer-wise hinge losses with their own matrices per offset k (2 to 6 rows
    ahead, those that fit the patch grid): the prediction ``max(0, 1 - y z_{t+k}^T W_pred c_t)``
    sends its signal to the target z only (context detached) and the retrodiction with ``W_retro``
    to the context c only (target detached). For every image one broadcast value y = +1 or -1 is
    drawn (a coin flip, independently for the two losses): the image's context patches are paired
    with the same image (+1) or with one other image of the batch, the same at every location
    (-1, a saccade). So every sample's update has one sign, local in time. Each loss is the mean
    over the positive pairs plus the mean over the negative pairs, averaged over offsets.
``clapp-s``
    The symmetric variant CLAPP-s: one W_pred per offset (``steps_ahead``) used for prediction
    and, transposed, for retrodiction; every context patch gets a positive and ``n_negatives``
    negative targets (other images of the batch, drawn per location) and both updates are
    applied together; hinge ``max(0, 1 - y z^T W_pred c)``, ``g_z = -y [loss > 0] W_pred c``,
    ``g_c = -y [loss > 0] W_pred^T z``, ``dW_pred = -y [loss > 0] z c^T``.
``clapp-fb``
    As the published clapp, but the apical prediction of layer l comes top-down: ``u = z_l^T B_l
    c_{l+1}`` with feedback weights B_l (one per offset) learned by the same local rule, the
    signal going to z_l only; the top layer predicts laterally (published clapp).
``dfa``
    The hinge loss on the top layer only; its error ``g_top`` reaches layer l through a fixed random
    matrix, ``g_l = g_top D_l`` (Nokland 2016).
``pc``
    Predictive coding (Whittington & Bogacz 2017) on the same top-layer loss: value nodes relax for
    ``pc_steps`` steps of size ``pc_rate`` under the energy
    ``sum_l |v_l - f_l(v_{l-1})|^2 / 2 + pc_beta loss``; each layer then learns from its own
    prediction error (divided by pc_beta).
``bp``
    The exact gradient of the top-layer loss through all layers (the non-local reference).
``random``
    No learning.

All kernels are pure functions of arrays (no hidden state), so that a spiking implementation can be
checked against them, and run on NumPy or CuPy arrays alike (:mod:`.backend`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import check_choice
from .backend import scatter_add, xp_of
from .encoder import F32, forward, layer_backward, layer_forward, pooled, pooled_grad

__all__ = ["Rule", "RULE_REGISTRY", "rule_gradients", "published_loss"]


@dataclass(frozen=True)
class Rule:
    """What a learning rule is made of; the trainer, the weights it learns and its cost follow.

    Attributes
    ----------
    name : str
    lateral : {'all', 'top', None}
        Which layers learn a lateral prediction ``W_pred`` with a hinge loss (None: no loss).
    published_pairs : bool
        The published CLAPP's pairs and losses (one sign per image, same-everywhere negatives,
        offsets 2 to 6, prediction and retrodiction) instead of CLAPP-s's symmetric pairs.
    below : {'lateral', 'learned-feedback', 'dfa', 'bp', 'pc', None}
        How the layers below the top learn: their own lateral loss, a top-down prediction with
        learned feedback weights, the top error through fixed random matrices, backprop, or
        predictive-coding relaxation.
    traits : tuple of str
        The lecture's Table 1: plausible architecture, local update (in space; in time: one
        broadcast sign per sample), top-down feedback.
    """

    name: str
    lateral: str | None
    published_pairs: bool
    below: str | None
    traits: tuple

    @property
    def learns(self) -> bool:
        """False for the untrained reference (no loss, no update)."""
        return self.lateral is not None


#: every rate rule by name; adding one is an entry here (with a ``below`` the trainer knows)
RULE_REGISTRY = {r.name: r for r in (
    Rule("clapp", "all", True, "lateral", ("yes", "yes (space and time)", "no")),
    Rule("clapp-s", "all", False, "lateral",
         ("no (W_pred used forwards and transposed)", "space only (+ and - updates at once)", "no")),
    Rule("clapp-fb", "top", True, "learned-feedback", ("yes", "yes (space and time)", "yes")),
    Rule("dfa", "top", False, "dfa", ("yes", "no", "yes")),
    Rule("pc", "top", False, "pc", ("no", "yes", "yes")),
    Rule("bp", "top", False, "bp", ("no", "no", "yes")),
    Rule("random", None, False, None, ("yes", "-", "-")),
)}

RULES = tuple(RULE_REGISTRY)

#: rules that use the published CLAPP pairs (one sign per image, same-everywhere negatives, offsets)
PUBLISHED_CLAPP = tuple(n for n, r in RULE_REGISTRY.items() if r.published_pairs)

#: The lecture's Table 1 columns per rule (:attr:`Rule.traits`)
RULE_TRAITS = {n: r.traits for n, r in RULE_REGISTRY.items()}


def hinge_kernel(z, c, w_pred, y, halve=True):
    """CLAPP hinge loss on pairs and its local learning signals.

    Parameters
    ----------
    z : ndarray, shape (m, n_z)
        Target encodings (basal/somatic activity of the predicted units).
    c : ndarray, shape (m, n_c)
        Context encodings.
    w_pred : ndarray, shape (n_z, n_c)
        Prediction weights (apical synapses).
    y : ndarray, shape (m,)
        +1 (same image) or -1 (saccade to another image).

    Returns
    -------
    loss : float
        ``max(0, 1 - y u)`` with ``u = z^T W_pred c``, averaged so that positive and negative pairs
        weigh equally: the mean over positives plus the mean over negatives (the official code's
        sum of the two means), halved if ``halve`` (clapp-s) and not for the published rule.
    gate : ndarray of bool, shape (m,)
        Second broadcast factor: the loss is non-zero.
    g_z, g_c : ndarray, shapes (m, n_z), (m, n_c)
        Gradients of the loss on z and c: ``-a y gate W_pred c`` and ``-a y gate W_pred^T z``, with
        ``a`` the pair's weight in the average.
    g_w : ndarray, shape (n_z, n_c)
        Gradient on W_pred: ``sum -a y gate z c^T``.

    Examples
    --------
    >>> import numpy as np
    >>> z, c, w = np.ones((1, 2)), np.ones((1, 2)), np.eye(2) * 0.25
    >>> loss, gate, g_z, g_c, g_w = hinge_kernel(z, c, w, np.array([1.0]))
    >>> float(loss), bool(gate[0]), g_z.tolist()
    (0.5, True, [[-0.25, -0.25]])
    """
    xp = xp_of(z)
    wc = c @ w_pred.T
    u = xp.einsum("ij,ij->i", z, wc)
    loss = xp.maximum(0.0, 1.0 - y * u)
    gate = loss > 0
    pos = y > 0
    n_pos = int(pos.sum())
    n_neg = len(y) - n_pos
    weight = (pos * (1.0 / max(n_pos, 1)) + ~pos * (1.0 / max(n_neg, 1))) / (((n_pos > 0) + (n_neg > 0)) if halve else 1)
    s = (-(y * gate) * weight).astype(z.dtype)[:, None]
    return float(xp.dot(weight, loss)), gate, s * wc, s * (z @ w_pred), (s * z).T @ c


def init_rule_weights(rule, arch, n_steps, rng):
    """Prediction/feedback weights a rule learns, and the fixed random ones it uses.

    Returns
    -------
    learned, fixed : dict of name -> float32 array
        ``pred{l}`` (n_steps, c_l, c_l) lateral prediction weights, ``fb{l}`` (n_steps, c_l, c_{l+1})
        top-down feedback weights (clapp-fb), ``dfa{l}`` (c_top, c_l) fixed feedback (dfa).
    """
    check_choice("rule", rule, RULES)
    spec = RULE_REGISTRY[rule]
    ch = arch.channels
    top = len(ch) - 1
    learned, fixed = {}, {}

    def small(*shape):
        return (rng.standard_normal(shape) / np.sqrt(shape[-1])).astype(F32)

    if not spec.learns:
        return learned, fixed
    for layer in (range(len(ch)) if spec.lateral == "all" else [top]):
        learned[f"pred{layer}"] = small(n_steps, ch[layer], ch[layer])
        if spec.published_pairs:
            learned[f"retro{layer}"] = small(n_steps, ch[layer], ch[layer])
    if spec.below == "learned-feedback":
        for layer in range(top):
            learned[f"fb{layer}"] = small(n_steps, ch[layer], ch[layer + 1])
    if spec.below == "dfa":
        for layer in range(top):
            fixed[f"dfa{layer}"] = small(ch[layer], ch[top]).T.copy()
    return learned, fixed


def _published_signals(z_all, c_all, w_pred, w_retro, pairs):
    """The published CLAPP's two losses (prediction to the target, retrodiction to the context),
    averaged over offsets. ``pairs``: per offset ``{"pred": (ctx, tgt, y), "retro": ...}``
    (:func:`~cortex_sim.learning.data.clapp_pairs`). ``w_retro=None``: prediction only (the
    top-down losses of clapp-fb, context from the layer above).

    Returns (loss, gate, g_z, g_c, g_pred, g_retro); g_z lands on the targets, g_c on the contexts.
    """
    n = len(pairs)
    xp = xp_of(z_all)
    g_z = xp.zeros_like(z_all)
    g_c = xp.zeros_like(c_all)
    g_pred = xp.empty_like(w_pred)
    g_retro = None if w_retro is None else xp.empty_like(w_retro)
    losses, gates = [], []
    for k, p in enumerate(pairs):
        ctx, tgt, y = p["pred"]
        loss, gate, gz, _, gw = hinge_kernel(z_all[tgt], c_all[ctx], w_pred[k], y, halve=False)
        scatter_add(g_z, tgt, gz / n)         # the context is detached: no signal to it
        g_pred[k] = gw / n
        total, gated = loss, [gate]
        if w_retro is not None:
            ctx, tgt, y = p["retro"]
            loss, gate, _, gc, gw = hinge_kernel(z_all[tgt], c_all[ctx], w_retro[k], y, halve=False)
            scatter_add(g_c, ctx, gc / n)     # the target is detached
            g_retro[k] = gw / n
            total, gated = total + loss, gated + [gate]
        losses.append(total)
        gates.append(float(xp.concatenate(gated).mean()))
    return float(np.mean(losses)), float(np.mean(gates)), g_z, g_c, g_pred, g_retro


def published_loss(z_target, z_context, w_pred, w_retro, pairs):
    """The published CLAPP loss of one layer, for given target and context encodings (the
    detached side held fixed: pass the same array twice for the value, different ones to
    differentiate one side only)."""
    total = 0.0
    for k, p in enumerate(pairs):
        ctx, tgt, y = p["pred"]
        total += hinge_kernel(z_target[tgt], z_context[ctx], w_pred[k], y, halve=False)[0]
        if w_retro is not None:
            ctx, tgt, y = p["retro"]
            total += hinge_kernel(z_target[tgt], z_context[ctx], w_retro[k], y, halve=False)[0]
    return total / len(pairs)


def _pair_signals(z_all, c_all, w_steps, pairs):
    """Hinge signals summed over prediction steps, scattered back onto the patches."""
    xp = xp_of(z_all)
    g_z = xp.zeros_like(z_all)
    g_c = xp.zeros_like(c_all)
    g_w = xp.empty_like(w_steps)
    losses, gates = [], []
    n = len(pairs)
    for k, (ctx, tgt, y) in enumerate(pairs):
        loss, gate, gz, gc, gw = hinge_kernel(z_all[tgt], c_all[ctx], w_steps[k], y)
        scatter_add(g_z, tgt, gz / n)
        scatter_add(g_c, ctx, gc / n)
        g_w[k] = gw / n
        losses.append(loss)
        gates.append(float(gate.mean()))
    return float(np.mean(losses)), float(np.mean(gates)), g_z, g_c, g_w


def rule_gradients(rule, x, weights, learned, fixed, arch, pairs, pc_steps=8, pc_rate=0.2, pc_beta=1.0):
    """Weight updates of one batch for ``rule`` (gradients to descend, as for an optimiser).

    Parameters
    ----------
    x : ndarray, float32, shape (n_patches, p, p, 1)
    weights : list of (W, b)
    learned, fixed : dicts from :func:`init_rule_weights`
    arch : Architecture
    pairs : list over prediction steps of (context, target, y) index arrays (see
        :func:`cortex_sim.learning.data.saccade_pairs`); for the published rules (clapp,
        clapp-fb) a list over offsets of ``{"pred": (ctx, tgt, y), "retro": (ctx, tgt, y)}``
        (:func:`cortex_sim.learning.data.clapp_pairs`)

    Returns
    -------
    grads : dict
        ``('enc', l)`` -> (dW, db) and name -> gradient for every entry of ``learned``.
    stats : dict
        ``loss`` (list per layer, NaN where a layer has no loss) and ``gate`` (fraction of pairs with
        a non-zero loss, per layer).
    """
    check_choice("rule", rule, RULES)
    n_layers = arch.n_layers
    top = n_layers - 1
    outs, caches = forward(x, weights, arch)
    z = [pooled(o) for o in outs]
    grads = {}
    loss = [float("nan")] * n_layers
    gate = [float("nan")] * n_layers
    signal = [None] * n_layers  # learning signal on each layer's patch encoding

    spec = RULE_REGISTRY[rule]
    if spec.published_pairs:
        for layer in range(n_layers):
            if spec.below == "lateral" or layer == top:
                loss[layer], gate[layer], g_z, g_c, g_p, g_r = _published_signals(
                    z[layer], z[layer], learned[f"pred{layer}"], learned[f"retro{layer}"], pairs)
                signal[layer] = g_z + g_c
                grads[f"pred{layer}"], grads[f"retro{layer}"] = g_p, g_r
            else:
                loss[layer], gate[layer], g_z, _, g_b, _ = _published_signals(
                    z[layer], z[layer + 1], learned[f"fb{layer}"], None, pairs)
                signal[layer] = g_z
                grads[f"fb{layer}"] = g_b
    elif spec.below == "lateral":          # every layer its own symmetric lateral loss (clapp-s)
        for layer in range(n_layers):
            loss[layer], gate[layer], g_z, g_c, g_w = _pair_signals(
                z[layer], z[layer], learned[f"pred{layer}"], pairs)
            signal[layer] = g_z + g_c
            grads[f"pred{layer}"] = g_w
    elif spec.below in ("dfa", "bp", "pc"):   # the top layer's loss, its error sent down
        loss[top], gate[top], g_z, g_c, g_w = _pair_signals(z[top], z[top], learned[f"pred{top}"], pairs)
        grads[f"pred{top}"] = g_w
        g_top = g_z + g_c
        if spec.below == "dfa":
            signal[top] = g_top
            for layer in range(top):
                signal[layer] = g_top @ fixed[f"dfa{layer}"]
        elif spec.below == "bp":
            g_map = pooled_grad(g_top, outs[top].shape)
            for layer in range(top, -1, -1):
                dw, db, g_map = layer_backward(caches[layer], g_map, weights[layer], need_input_grad=layer > 0)
                grads[("enc", layer)] = (dw, db)
        else:
            errors, caches = _pc_relax(x, outs, caches, weights, arch, learned[f"pred{top}"], pairs,
                                       pc_steps, pc_rate, pc_beta)
            for layer in range(n_layers):
                dw, db, _ = layer_backward(caches[layer], -errors[layer] / pc_beta, weights[layer])
                grads[("enc", layer)] = (dw, db)

    for layer in range(n_layers):  # the local update, for the rules that send a signal per layer
        if signal[layer] is not None:
            dw, db, _ = layer_backward(caches[layer], pooled_grad(signal[layer], outs[layer].shape), weights[layer])
            grads[("enc", layer)] = (dw, db)
    return grads, {"loss": loss, "gate": gate}


def _pc_relax(x, outs, caches, weights, arch, w_pred_top, pairs, steps, rate, beta):
    """Whittington & Bogacz (2017) inference: relax value nodes, return prediction errors.

    Gradient descent of ``F = sum_l |v_l - f_l(v_{l-1})|^2 / 2 + beta loss(v_top)`` on the value
    nodes v_l. They start at the feedforward activities (all errors zero); the top-layer loss then
    pulls on the top value node and the errors spread down one layer per step. For small ``beta``
    the equilibrium errors divided by beta are the backprop errors.
    """
    top = len(weights) - 1
    values = [o.copy() for o in outs]
    mus = list(outs)
    for step in range(steps):
        # after `step` steps the errors have reached layer top - step + 1; below it nothing moves yet,
        # so those layers are neither propagated nor recomputed (their updates would be exact zeros)
        lo = max(0, top - step)
        errors = {layer: values[layer] - mus[layer] for layer in range(lo, top + 1)}
        _, _, g_z, g_c, _ = _pair_signals(pooled(values[top]), pooled(values[top]), w_pred_top, pairs)
        updates = {}
        for layer in range(lo, top + 1):
            dv = -errors[layer]
            if layer == top:
                dv = dv - beta * pooled_grad(g_z + g_c, values[top].shape)
            else:
                _, _, back = layer_backward(caches[layer + 1], errors[layer + 1], weights[layer + 1],
                                            need_input_grad=True)
                dv = dv + back
            updates[layer] = dv
        for layer, dv in updates.items():
            values[layer] = values[layer] + F32(rate) * dv
        for layer in range(lo + 1, top + 1):  # predictions whose input (v_{layer-1}) moved
            mus[layer], caches[layer] = layer_forward(values[layer - 1], weights[layer], layer + 1 in arch.pool_after)
    errors = [v - m for v, m in zip(values, mus)]
    return errors, caches
