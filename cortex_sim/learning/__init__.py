"""Representation learning on small images with local rules (CLAPP and its rivals), in NumPy.

Data and views (:mod:`.data`) -> encoder of rectified rate units (:mod:`.encoder`) -> rules
(:mod:`.rules`) -> training with checkpoints (:mod:`.train`) -> layer-wise readouts
(:mod:`cortex_sim.readout`) over rules and seeds (:mod:`.study`).
"""

from .data import DATASETS, Dataset, load_dataset, patch_grid, saccade_pairs
from .encoder import Architecture, encode_patches, readout_features
from .rules import RULES, hinge_kernel, rule_gradients
from .study import run_study
from .train import PRESETS, LearnConfig, learn_preset, train_encoder, training_flops

__all__ = ["DATASETS", "Dataset", "load_dataset", "patch_grid", "saccade_pairs", "Architecture",
           "encode_patches", "readout_features", "RULES", "hinge_kernel", "rule_gradients", "run_study",
           "PRESETS", "LearnConfig", "learn_preset", "train_encoder", "training_flops"]
