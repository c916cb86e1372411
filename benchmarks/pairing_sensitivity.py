"""Sensitivity of the pairing experiment to the parameters that matter (not a test).

Varies one parameter at a time around the defaults: theta_plus (LTP threshold), the apical
current amplitude, and the read-out delay eps of the filtered voltages; prints a markdown table of
the epsp ratios (spike alone, paired, apical alone, unpaired pathway) and spikes per trial.
Each row is one full run of the experiment (C++ standalone; a changed parameter recompiles).

Usage: python benchmarks/pairing_sensitivity.py > benchmarks/pairing_sensitivity.md
"""

import sys

from brian2 import BrianLogger, mV, ms, nA

from cortex_sim.params import preset
from cortex_sim.protocols.pairing import PairingConfig, run_pairing

ROWS = [("defaults", {}, {})]
ROWS += [(f"theta_plus = {v} mV", {}, {"theta_plus": v * mV}) for v in (-48.0, -42.0)]
ROWS += [(f"apical_amp = {v} nA", {"apical_amp": v * nA}, {}) for v in (0.9, 1.5, 2.0)]
ROWS += [(f"eps = {v} ms", {}, {"delay_u_bars": v * ms}) for v in (0.0, 5.0)]


def main():
    BrianLogger.log_level_warn()
    print("| variation | spike alone | spikes/trial | paired | spikes/trial | apical alone | unpaired B |")
    print("|---|---|---|---|---|---|---|")
    for label, cfg_changes, rule_changes in ROWS:
        cfg = PairingConfig(window_delays=(0.0,), pairing_counts=(8,), **cfg_changes)
        rule = preset("clopath", "visual").with_(**rule_changes)
        r = run_pairing(cfg, rule=rule, record_traces=False).conditions
        print(f"| {label} | {r['spike_alone']['epsp_ratio']:.3f} | {max(r['spike_alone']['spikes_per_trial'])} "
              f"| {r['paired']['epsp_ratio']:.3f} | {min(r['paired']['spikes_per_trial'])} "
              f"| {r['apical_alone']['epsp_ratio']:.3f} | {r['unpaired_pathway']['epsp_ratio']:.3f} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
