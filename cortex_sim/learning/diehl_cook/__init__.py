"""Diehl & Cook 2015 ("Unsupervised learning of digit recognition using spike-timing-dependent
plasticity", Front. Comput. Neurosci. 9:99) on cortex_sim's compiled streaming machinery.

:mod:`.network` builds the authors' network (equations and parameters of their code, the
differences listed with their reasons); :mod:`.train` streams images through it chunk by chunk
with the re-presentation rule, checkpoints and the learning curve, and reads it out by the authors'
label voting and by the package's linear readout on the same spike counts; :mod:`.study` runs
seeds and sizes and writes the results, tables and figures (``cortex-sim learn --rule diehl-cook``).
"""

from .config import DiehlCookConfig
from .network import DiehlCookNetwork, slot_spike_table  # noqa: F401
from .train import (DiehlCookTrained, Stream, assign_labels, evaluate_diehl_cook, image_rates, train_diehl_cook, vote,  # noqa: F401
                    voting_accuracy)  # noqa: F401

__all__ = ["DiehlCookConfig", "DiehlCookNetwork", "DiehlCookTrained", "train_diehl_cook",
           "evaluate_diehl_cook", "assign_labels", "vote"]
