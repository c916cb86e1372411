"""Representation learning on small images with local rules (CLAPP and its rivals), in NumPy.

Data and views (:mod:`.data`) -> encoder of rectified rate units (:mod:`.encoder`) -> rules
(:mod:`.rules`) -> training with checkpoints (:mod:`.train`) -> layer-wise readouts
(:mod:`cortex_sim.readout`) over rules and seeds (:mod:`.study`).
"""

from .data import DATASETS, Dataset, load_dataset, patch_grid, saccade_pairs  # noqa: F401
from .encoder import Architecture, encode_patches, readout_features  # noqa: F401
from .rules import RULES, hinge_kernel, rule_gradients  # noqa: F401
from .study import run_study
from .train import PRESETS, LearnConfig, learn_preset, train_encoder, training_flops  # noqa: F401

__all__ = ["Dataset", "load_dataset", "Architecture", "encode_patches", "run_study", "LearnConfig",
           "learn_preset", "train_encoder"]
