"""
A short spiking learner run
===========================

Two layers of two-compartment neurons learn from fixations and saccades on 8x8 digits: Clopath
basal synapses gated by the saccade broadcast, an apical prediction from the previous fixation.
One epoch over 108 images (a real study trains 5 epochs on 1 000): the network is compiled once
and streamed in chunks; the figure shows the firing rate and the weights per chunk.
"""

import matplotlib.pyplot as plt
import numpy as np

from cortex_sim.learning.data import load_dataset
from cortex_sim.learning.spiking import input_rates, make_network, spiking_preset, train_spiking

ds = load_dataset("digits")
cfg = spiking_preset("digits", neurons=(32, 64), max_train_images=108, epochs=1)
net = make_network("spiking-clapp", cfg, input_rates(ds, cfg))
w_mean = []
run, _ = train_spiking("spiking-clapp", ds, cfg, 0, net=net, progress=False,
                       on_chunk=lambda epoch, index, state, counts: w_mean.append(float(np.mean(state["w1"]))))
print(f"layer-1 rate {run.history[0]['rate_hz']:.1f} Hz after {len(w_mean)} chunks")
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(np.arange(1, len(w_mean) + 1), w_mean, marker="o")
ax.set_xlabel("chunk of fixations")
ax.set_ylabel("mean layer-1 basal weight")
