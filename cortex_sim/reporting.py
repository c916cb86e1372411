"""Progress of long jobs: stage lines on the ``cortex_sim`` logger, a wall-clock bar while a
standalone binary runs, tqdm bars over points and images."""

from __future__ import annotations

import time
from pathlib import Path

__all__: list = []   # internal


def progress(report, message):
    """Log a stage of a long job on the ``cortex_sim`` logger (the CLI shows INFO, -q hides it);
    with no logging configured, a job asked to ``report`` prints the line on stderr."""
    if report is not None:
        import logging
        import sys

        logger = logging.getLogger("cortex_sim")
        if logger.hasHandlers():
            logger.info(message)
        else:
            print(f"[cortex-sim] {message}", file=sys.stderr, flush=True)


class run_clock:
    """A progress bar (stderr) while a standalone binary runs: elapsed seconds against the wall
    time of this project's last run (``last_run_s`` in the project folder), shown once the run has
    taken 5 s. Brian2's own report would cost a clock call per time step in standalone code, so
    the bar measures time, not simulated steps, and says so."""

    SHOW_AFTER_S = 5.0

    def __init__(self, report, project):
        self.report, self.file = report, Path(project) / "last_run_s"
        try:
            self.expected = float(self.file.read_text())
        except (OSError, ValueError):
            self.expected = None

    def __enter__(self):
        import threading

        self.t0, self.stop = time.perf_counter(), threading.Event()
        self.thread = None
        if self.report is not None:
            self.thread = threading.Thread(target=self._show, daemon=True)
            self.thread.start()
        return self

    def _show(self):
        from tqdm.auto import tqdm

        if self.stop.wait(self.SHOW_AFTER_S):
            return
        total = round(self.expected, 1) if self.expected and self.expected > self.SHOW_AFTER_S else None
        desc = "simulating (wall s; last run took {:.0f} s)".format(self.expected) if total else "simulating (wall s)"
        with tqdm(total=total, desc=desc, unit="s", leave=False, bar_format=None if total else
                  "{desc}: {elapsed}") as bar:
            while not self.stop.wait(0.5):
                bar.n = round(time.perf_counter() - self.t0, 1)
                if total:
                    bar.n = min(bar.n, total)
                bar.refresh()

    def __exit__(self, kind, exc, tb):
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
        if kind is None:
            try:
                self.file.write_text(f"{time.perf_counter() - self.t0:.3f}\n")
            except OSError:
                pass
        return False


def progress_bar(report, total, unit):
    """A tqdm progress bar on stderr when ``report`` is set, else a silent stand-in."""
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=unit, disable=report is None or not _info_enabled(),
                file=__import__("sys").stderr, leave=False, dynamic_ncols=True)


def _info_enabled():
    import logging

    logger = logging.getLogger("cortex_sim")
    return not logger.hasHandlers() or logger.isEnabledFor(logging.INFO)
