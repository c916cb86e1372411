"""C++ standalone vs Brian2 runtime (Cython) on the pairing experiment (not a test).

The same experiment (trial interval 1 s, window and count sweeps off: 3 neurons, 25 s simulated)
on both devices; reports the simulation time of each, their ratio, and checks that the results
agree. Cython's compiled extensions are cached by Brian2 (~/.cython), the C++ project by cortex_sim.

Usage: python benchmarks/pairing_devices.py
"""

import sys
import time

from brian2 import BrianLogger, second

from cortex_sim.protocols.pairing import PairingConfig, run_pairing

from _common import machine, record, today


def main():
    BrianLogger.log_level_warn()
    cfg = PairingConfig(trial_interval=1 * second, test_interval=0.5 * second, window_delays=(),
                        pairing_counts=())
    out = {}
    for device in ("cpp", "runtime"):
        for _ in range(2):  # the second run of each device is the timed one (caches warm)
            t0 = time.perf_counter()
            res = run_pairing(cfg, device=device, record_traces=False)
            wall = time.perf_counter() - t0
        out[device] = (res, wall, res.blocks["run_s"])
    ratio = out["runtime"][2] / out["cpp"][2]
    agree = max(abs(out["cpp"][0].conditions[c]["epsp_ratio"] - out["runtime"][0].conditions[c]["epsp_ratio"])
                for c in out["cpp"][0].conditions)
    record(f"| {today()} | {machine()} | {out['cpp'][2]:.2f} | {out['runtime'][2]:.2f} | {ratio:.0f}x | "
           f"{out['cpp'][1]:.1f} | {out['runtime'][1]:.1f} | {agree:.1e} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
