"""Compile time of a C++ standalone project with and without the precompiled header.

Builds the spike-pair project of `cortex-sim plasticity window` (43 sources) in two empty caches,
one with ``CORTEX_SIM_NO_PCH=1``, and reports make's wall time from each project's compiles.log,
then a second `--delta-ts` list in the cache with the header (the padded project is reused: only
the sources whose constants changed are recompiled). Run on a quiet machine:

    python benchmarks/compile_pch.py [--repeats 2]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


def _window(cache, delta_ts, pch=True):
    env = dict(os.environ, CORTEX_SIM_CACHE=str(cache))
    if not pch:
        env["CORTEX_SIM_NO_PCH"] = "1"
    proc = subprocess.run([sys.executable, "-m", "cortex_sim", "plasticity", "window", f"--delta-ts={delta_ts}",
                           "--groups", "1", "--no-figure", "--json", "-q"], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout)["rows"]


def _make_seconds(cache):
    logs = list(Path(cache).glob("cpp/spike_pairs-*/compiles.log"))
    return [float(line.split()[3]) for log in logs for line in log.read_text().splitlines()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    cold = {True: [], False: []}
    relist = []
    for _ in range(args.repeats):
        for pch in (False, True):
            with tempfile.TemporaryDirectory() as cache:
                rows = _window(cache, "-5,5", pch)
                cold[pch].append(_make_seconds(cache)[0])
                if pch:
                    again = _window(cache, "-10,0,10", pch)
                    relist.append(_make_seconds(cache)[-1])
                    assert len(again) == 3 and len(rows) == 2
    out = {"make_s_without_pch": float(np.median(cold[False])), "make_s_with_pch": float(np.median(cold[True])),
           "make_s_new_delta_ts_list": float(np.median(relist)), "repeats": args.repeats}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
