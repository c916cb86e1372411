"""Spiking CLAPP: two-compartment neurons learn image representations with Clopath plasticity
gated by the saccade broadcast and a hinge gate (Brian2, compiled once, streamed in chunks).

The network (per layer l = 1, 2, ...; the CLAPP terms and their spiking forms are in the docs'
science pages and in Illing et al. 2021):

- **What a fixation shows**: a glimpse of ``glimpse = (gr, gc)`` neighbouring patches as ON/OFF
  Poisson channels. Layer 1 has one group of neurons per patch of the glimpse, with shared basal
  weights (averaged over the groups after every chunk: a convolution learned with local rules);
  layer 2 sees all of layer 1, i.e. the whole glimpse (a growing receptive field). The ``swap``
  schedule moves the glimpse one glimpse-height down the image; at every move the image is kept
  (M = +1, a positive pair) or, with probability 1/2, swapped for another (M = -1: a saccade,
  a negative pair at the same positions); consecutive fixations share no pixel
  (:mod:`cortex_sim.learning.fixations`).
- **Neurons**: the package's two-compartment burst neuron (Naud & Sprekeler 2018,
  :func:`cortex_sim.models.two_compartment`); its calcium plateau turns a basal spike plus apical
  input into a burst, the mechanism this network is about.
- **Basal synapses** (feedforward): delta PSPs on the soma, plastic with the package's Clopath
  binding in the accumulator form. With ``eligibility`` the changes of a fixation are collected
  per synapse and applied at its end multiplied by the broadcast M (+1 same image, -1 after a
  saccade) and by CLAPP's hinge gate; without it M multiplies them online.
- **Apical dendrite**: the context. The layer's spikes in the previous fixation, c, weighted by
  plastic prediction weights W_pred, give a constant apical current during the current fixation:
  ``I_pred = W_pred c / sum(c)`` (``context='normalised'``: unit-sum context as EchoSpike's echo,
  so the current is a graded weighted mean of W_pred) or ``clip(W_pred c)`` (``'sign'``, the first
  design, saturating). Below the ~0.6 nA that fires a plateau alone: a burst needs basal drive
  too. With M = +1 the basal synapses of predicted, active (bursting) neurons potentiate; with
  M = -1 the same coincidence depresses them: CLAPP's ``dw_ij ~ y (W_pred c)_i rho'(a_i) x_j``
  with the prediction acting through bursts.
- **Prediction weights**: at the end of every fixation ``W_pred_ik = W_pred_ik (1 - decay) +
  eta M gate z_i c_k`` (z: this fixation's counts), CLAPP's ``dW_pred ~ y z c^T``, kept in range
  by the decay (a bound as a last resort).
- **Hinge gate** (``hinge_margin_nA``): the layer's score ``s = sum_i I_pred_i z_i / sum_i z_i``
  at the end of a fixation; learning is off when ``M s`` is already beyond the margin.
- **Inhibition**: every spike adds an inhibitory current to the other neurons of its group (an
  interneuron pool reduced to its effect): a soft winner-take-all.
- **Homeostasis**: an adaptive threshold per neuron (Diehl & Cook 2015) and Clopath's own LTD
  homeostasis; synaptic scaling of each neuron's basal weights after every chunk.

The comparison networks are run-time settings of the same compiled project: ``spiking-clopath``
(M = +1 always, no apical context), ``spiking-random`` (untrained), ablations (M = 0, M shuffled,
no context, no hinge). ``stdp-wta`` is a Diehl & Cook-style network of the same geometry (LIF
neurons, adaptive thresholds, lateral inhibition, pair STDP with weight normalisation), in a
project of its own; ``spiking-clapp-legacy`` is spiking-clapp on the first design's preset (single
patches walking down a column, raw-count context through a clip, online broadcast).

Training streams images through the compiled binary (:class:`~cortex_sim.compiled.CompiledProject`):
each chunk of fixations is one run whose input spike table, broadcast schedule and starting
weights are inputs; the weights, prediction weights and thresholds it ends with start the next
chunk (membrane state restarts at rest between chunks). A checkpoint (npz, no pickle) is written
after every chunk; resuming gives bit-identical weights because every chunk's input is drawn from
(seed, epoch, chunk) only.

Evaluation (:mod:`.evaluate`) runs a frozen network compiled without plasticity, R presentations
per image with independent input spikes; the mechanism numbers come from the plastic network run
frozen with the context on.
"""

from .config import CONTEXTS, SCHEDULES, SPIKING_PRESETS, SpikingConfig, spiking_preset  # noqa: F401
from .evaluate import SpikingCodes, auc, encode_spiking, mechanism, receptive_fields, reliability  # noqa: F401
from .network import SpikingNetwork, basal_index  # noqa: F401
from .train import (ABLATIONS, SPIKING_RULE_REGISTRY, SPIKING_RULES, SpikingRule, SpikingTrained,  # noqa: F401
                    fixation_rates, input_rates, load_checkpoint, make_network, rule_config, rule_kind,
                    save_checkpoint, train_spiking)

# the name earlier code used
_input_rates = input_rates

__all__ = ["SpikingConfig", "spiking_preset", "SpikingNetwork", "make_network", "train_spiking",
           "SpikingTrained", "encode_spiking", "SpikingCodes", "input_rates", "mechanism", "reliability",
           "receptive_fields", "SpikingRule", "SPIKING_RULE_REGISTRY"]
