"""Evaluation of the spiking learner: spike codes over R presentations, their reliability, and
the mechanism numbers (does the apical context predict, do bursts follow the prediction).

Readout. Every evaluation image is shown at every fixation position (all glimpses, row-major)
``R`` times, each time with independent Poisson input spikes and the weights frozen, on the
frozen evaluation network (no Clopath traces, no prediction plasticity, no context). The code of
an image is the spike count of every neuron summed over the R presentations; the readout is
reported at R and at 1 (the first presentation alone), so that a representation gain can be told
from a reliability gain. Layer 1's counts are mapped back to patches (group g of glimpse (a, b) saw
patch (a gr + dr, b gc + dc)); the layers above have one code per glimpse position.

Reliability (:func:`reliability`): the Fano factor of the single-presentation counts (pooled:
the sum over entries of the variance over presentations divided by the sum of the means), and the
median over neurons of the image-level signal-to-noise ratio (variance over images of the mean
code over the variance over presentations, on the patch-averaged code of one presentation).

Mechanism (:func:`mechanism`), on held-out images with frozen weights and the context on, with
the training schedule (a saccade to the image, then fixations on it):

- ``score_auc``: area under the ROC curve of the layer's prediction score
  ``s = sum_i I_pred_i zc_i`` (I_pred: the apical current predicted from the previous fixation's
  spikes, zc: this fixation's counts, centred on their running means when the rule centres them),
  the quantity the hinge gate reads, for same-image fixations against fixations after a saccade
  (or a swap of the image); ``score_auc_context_off``: the same with the apical input switched off
  (the apical current also depolarises the soma a little, so with the context on the prediction
  partly makes its own code); ``similarity_auc``: the same for the no-context score ``c . z``
  (previous code . current code, context off), which pixel overlap and image-wide statistics
  alone can make high. Codes are events or spikes, as the rule reads them (``config.code``).
  Untrained (W_pred = 0) the score is 0 everywhere: AUC 0.5.
- ``burst_frac_same``, ``burst_frac_saccade``: share of (neuron, fixation) entries with >= 2
  spikes in same-image fixations and after a saccade (late training: the last epoch; ``_frozen``:
  this run).
- ``burst_given_spike_apical_high`` / ``_low``: P(>= 2 spikes | >= 1 spike) in entries whose
  apical current is at least half the clip / zero or negative: does the context turn spikes into
  bursts.
- ``apical_at_clip``: share of (neuron, fixation) entries whose apical current sits at the clip;
  ``w_pred_at_bound``: share of prediction weights at their bound.
- ``rf_abs_corr``: mean absolute correlation between the basal weight vectors of the layer's
  neurons (layer 1: one group); ``rf_flat``: share of neurons whose basal weights have a standard
  deviation below a quarter of the initial uniform distribution's (nearly flat fields).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ParameterError, check_int
from .train import fixation_rates, input_rates

__all__ = ["SpikingCodes", "encode_spiking", "reliability", "mechanism", "receptive_fields"]


@dataclass
class SpikingCodes:
    """Spike counts of every layer: ``layers[l]`` has shape (R, n_images, rows_l, cols_l, k_l)
    (layer 1 per patch, the layers above per glimpse position), uint16."""

    layers: list

    @property
    def repeats(self):
        return self.layers[0].shape[0]

    def summed(self, repeats=None):
        """Counts summed over the first ``repeats`` presentations (all by default), float64."""
        r = self.repeats if repeats is None else repeats
        return [x[:r].sum(axis=0, dtype=np.float64) for x in self.layers]


def encode_spiking(net, state, ds, config, seed=0, *, repeats=None, progress=True):
    """Spike counts of every layer for every fixation position of every image of ``ds``.

    Parameters
    ----------
    net : SpikingNetwork
        The frozen evaluation network (``plastic=False``), or a plastic one (run with learning and
        context off).
    state : dict
        Trained state (weights and thresholds).
    repeats : int or None
        R presentations with independent input spikes (default ``config.eval_repeats``).

    Returns
    -------
    SpikingCodes
    """
    from tqdm.auto import tqdm

    from ..fixations import evaluation_chunks, spike_table

    R = check_int("repeats", config.eval_repeats if repeats is None else repeats, low=1, high=100)
    rows, cols = config.grid(ds.shape)
    rates = fixation_rates(input_rates(ds, config), config)
    n, GR, GC, _ = rates.shape
    gr, gc = config.glimpse
    n1 = config.neurons[0]
    out = [np.zeros((R, n, rows, cols, n1), np.uint16)]
    out += [np.zeros((R, n, GR, GC, k), np.uint16) for k in config.neurons[1:]]
    per = net.slots // (GR * GC)
    n_chunks = -(-n // per)
    bar = tqdm(total=n_chunks * R, disable=not progress, leave=False, desc=f"spiking readout: encoding (R = {R})",
               unit="chunk")
    for chunk in evaluation_chunks(rates, slots=net.slots):
        used = chunk.image >= 0
        img, pos = chunk.image[used], chunk.position[used]
        for r in range(R):
            table = spike_table(chunk.rates, net.t_fix, config.dt_ms * 1e-3,
                                np.random.default_rng([seed, 5, r, chunk.index]), net.n_rows)
            _, counts, _ = net.run_chunk(state, table, None, learn=False, apical=False)
            c1 = counts[0][used].reshape(-1, config.groups, n1)
            for g in range(config.groups):
                dr, dc = divmod(g, gc)
                out[0][r, img, pos[:, 0] * gr + dr, pos[:, 1] * gc + dc] = c1[:, g]
            for layer, cnt in zip(out[1:], counts[1:]):
                layer[r, img, pos[:, 0], pos[:, 1]] = cnt[used]
            bar.update(1)
    bar.close()
    return SpikingCodes(out)


def reliability(codes: SpikingCodes):
    """Per layer: ``fano`` (pooled Fano factor of single-presentation counts) and ``snr_median``
    (median over neurons of the image-level signal-to-noise ratio); None with one presentation."""
    out = []
    for x in codes.layers:
        if x.shape[0] < 2:
            out.append({"fano": None, "snr_median": None})
            continue
        xf = x.astype(np.float64)
        mean = xf.mean(axis=0)
        var = xf.var(axis=0, ddof=1)
        fano = float(var.sum() / mean.sum()) if mean.sum() > 0 else None
        img = xf.mean(axis=(2, 3))                      # (R, n, k): patch-averaged code per presentation
        signal = img.mean(axis=0).var(axis=0, ddof=1)
        noise = img.var(axis=0, ddof=1).mean(axis=0)
        ok = noise > 0
        out.append({"fano": fano, "snr_median": float(np.median(signal[ok] / noise[ok])) if ok.any() else None})
    return out


def auc(scores, positive):
    """Area under the ROC curve of ``scores`` separating ``positive`` (bool) from the rest
    (ties count one half: 0.5 for constant scores); None when either class is empty."""
    from scipy.stats import rankdata

    s = np.asarray(scores, float)
    pos = np.asarray(positive, bool)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(s)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _field_diversity(w, pre, post, n_pre, n_post, w_init):
    """Mean |correlation| between neurons' basal weight vectors, and the share of nearly flat ones."""
    mat = np.zeros((n_post, n_pre))
    mat[post, pre] = w
    sd = mat.std(axis=1)
    flat_sd = 0.25 * (w_init[1] - w_init[0]) / np.sqrt(12)
    ok = sd > 1e-12
    corr = np.corrcoef(mat[ok]) if ok.sum() > 1 else np.ones((1, 1))
    off = np.abs(corr[~np.eye(len(corr), dtype=bool)])
    return {"rf_abs_corr": float(off.mean()) if off.size else None, "rf_flat": float(np.mean(sd < flat_sd))}


def _score(c, state, li, W, z):
    """The prediction score of every fixation from the previous fixation's code: the apical current
    the network computes (:class:`~cortex_sim.learning.spiking.network.SpikingNetwork`) and
    ``sum_i I_pred_i zc_i``."""
    prev = np.roll(z, 1, axis=0)
    chat = prev / np.maximum(prev.sum(axis=1, keepdims=True), 1.0) if c.context == "normalised" else prev
    centre = 1.0 if c.centre else 0.0
    i_max = c.apical_max_nA * 1e-9
    ip = (chat - centre * state[f"cbar{li}"]) @ W
    if c.apical_gain_nA is not None:
        sd = np.sqrt(np.clip(ip.var(axis=1, keepdims=True), 1e-30, 1))
        ip = c.apical_gain_nA * 1e-9 * (ip - ip.mean(axis=1, keepdims=True)) / sd
    i_pred = np.clip(ip, -i_max, i_max)
    return (i_pred * (z - centre * state[f"zbar{li}"])).sum(axis=1), i_pred


def mechanism(net, state, ds, config, seed=0, *, history=None, progress=False, images=None):
    """The mechanism numbers of a trained network (see the module docstring), one dict per layer.

    Parameters
    ----------
    net : SpikingNetwork
        The plastic network the rule trained with (run frozen, context on).
    history : list or None
        The training history (its last epoch gives the late-training burst shares).
    images : array of int or None
        Images to use (default: the held-out split ``ds.test``).
    """
    from ..fixations import spike_table
    from .train import training_schedule

    if not net.plastic:
        raise ParameterError("net: got the frozen evaluation network; allowed: the plastic network the rule "
                             "trained with (mechanism runs it frozen, with the context on)")
    c = config
    idx = np.asarray(ds.test if images is None else images)
    rates = fixation_rates(input_rates(ds, c), c)
    chunks = training_schedule(c, rates, idx, np.random.default_rng([seed, 6]), 0)
    runs = {True: ([[] for _ in c.neurons], [[] for _ in c.neurons]),
            False: ([[] for _ in c.neurons], [[] for _ in c.neurons])}
    m_all, first_all = [], []
    for chunk in chunks:
        table = spike_table(chunk.rates, net.t_fix, c.dt_ms * 1e-3, np.random.default_rng([seed, 7, chunk.index]),
                            net.n_rows)
        for apical, (spk, evt) in runs.items():
            if apical is False and net.kind != "burst":
                continue
            _, counts, info = net.run_chunk(state, table, chunk.modulation, learn=False, apical=apical)
            for acc, cnt in zip(spk, counts):
                acc.append(cnt)
            for acc, ev in zip(evt, info["events"]):
                acc.append(ev)
        m_all.append(chunk.modulation)
        first = np.zeros(net.slots, bool)
        first[0] = True
        first_all.append(first)
    m = np.concatenate(m_all)
    first = np.concatenate(first_all)
    # a fixation with a context from the previous slot of the same chunk, same image or after a saccade
    valid = (m != 0) & ~first
    last = (history or [{}])[-1] if history else {}
    out = []
    for li in range(1, len(c.neurons) + 1):
        rec = {"layer": li, "fixations": int(valid.sum())}
        codes = {}
        for apical, (spk, evt) in runs.items():
            if spk[li - 1]:
                spikes = np.concatenate(spk[li - 1]).astype(float)          # (fixations, neurons)
                # what the prediction reads: events (a burst once) or spikes
                z = np.concatenate(evt[li - 1]).astype(float) if c.code == "events" else spikes
                codes[apical] = (spikes, z)
        # the no-context baseline: previous . current code, with the context off
        spikes, z = codes[False] if False in codes else codes[True]
        prev = np.roll(z, 1, axis=0)
        rec["similarity_auc"] = auc((prev * z).sum(axis=1)[valid], m[valid] > 0)
        if net.kind == "burst":
            W = np.asarray(state[f"W_pred{li}"], float).reshape(z.shape[1], z.shape[1])   # W[k, i]: context k -> i
            for apical, (spikes_a, z_a) in codes.items():
                score, i_pred = _score(c, state, li, W, z_a)
                rec["score_auc" if apical else "score_auc_context_off"] = auc(score[valid], m[valid] > 0)
            spikes, z = codes[True]
            score, i_pred = _score(c, state, li, W, z)
            i_max = c.apical_max_nA * 1e-9
            rec["apical_at_clip"] = float(np.mean(np.abs(i_pred[valid]) >= i_max * (1 - 1e-9)))
            rec["apical_mean_abs_nA"] = float(np.abs(i_pred[valid]).mean() * 1e9)
            rec["w_pred_at_bound"] = float(np.mean(np.abs(W) >= c.pred_max_nA * 1e-9 * (1 - 1e-9)))
            # does the apical current turn spikes into bursts? P(>= 2 spikes | >= 1 spike) for
            # entries with a strong positive apical current and for entries with none or negative
            spiked = valid[:, None] & (spikes >= 1)
            for key, sel in (("burst_given_spike_apical_high", i_pred >= 0.5 * i_max),
                             ("burst_given_spike_apical_low", i_pred <= 0)):
                k = spiked & sel
                rec[key] = float((spikes[k] >= 2).mean()) if k.any() else None
        else:
            rec["score_auc"] = rec["score_auc_context_off"] = rec["apical_at_clip"] = rec["w_pred_at_bound"] = None
        burst = (spikes >= 2).mean(axis=1)
        rec["burst_frac_same_frozen"] = float(burst[valid & (m > 0)].mean())
        rec["burst_frac_saccade_frozen"] = float(burst[valid & (m < 0)].mean())
        suffix = "" if li == 1 else f"_l{li}"
        rec["burst_frac_same"] = last.get("burst_frac_pos" + suffix)
        rec["burst_frac_saccade"] = last.get("burst_frac_neg" + suffix)
        pre, post = net.synapse_index(li)
        n_post = c.neurons[0] if li == 1 else net.layer_size(li)
        n_pre = (net.n_channels if li == 1 else net.layer_size(li - 1))
        m1 = len(pre) // c.groups if li == 1 else len(pre)
        rec.update(_field_diversity(np.asarray(state[f"w{li}"])[:m1], pre[:m1], post[:m1], n_pre, n_post, c.w_init))
        out.append(rec)
    return out


def receptive_fields(config, state, layer=1):
    """Receptive fields as images: (n_neurons, height, width), ON minus OFF weights.

    Layer 1: each neuron's basal weights from its patch's ON channels minus those from the OFF
    channels (one group: the groups share them), patch_size x patch_size. Layer 2: the linear
    composition over the glimpse, ``sum_k w2_kj RF1_k`` with each layer-1 field placed at its
    group's patch (overlapping patches add up): the pixels of a glimpse.
    """
    from .network import basal_index

    c = config
    p, n1 = c.patch_size, c.neurons[0]
    n_ch = 2 * p * p
    i1, j1 = basal_index(c, 1, n_ch, n1)
    m1 = len(i1) // c.groups
    mat = np.zeros((n_ch, n1))
    mat[i1[:m1], j1[:m1]] = np.asarray(state["w1"], float)[:m1]
    rf1 = (mat[: n_ch // 2] - mat[n_ch // 2:]).T.reshape(n1, p, p)
    if layer == 1:
        return rf1
    if layer != 2:
        raise ParameterError(f"layer: got {layer}; allowed: 1 or 2")
    gr, gc = c.glimpse
    s = c.patch_stride
    size = c.groups * n1
    i2, j2 = basal_index(c, 2, size, c.neurons[1])
    w2 = np.zeros((size, c.neurons[1]))
    w2[i2, j2] = np.asarray(state["w2"], float)
    out = np.zeros((c.neurons[1], (gr - 1) * s + p, (gc - 1) * s + p))
    for g in range(c.groups):
        dr, dc = divmod(g, gc)
        block = w2[g * n1:(g + 1) * n1]                               # (n1, n2)
        out[:, dr * s:dr * s + p, dc * s:dc * s + p] += np.einsum("kj,kab->jab", block, rf1)
    return out
