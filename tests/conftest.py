"""Shared fixtures: quiet Brian2 logging, a temporary figures folder."""

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _quiet_brian():
    from brian2 import BrianLogger

    BrianLogger.log_level_warn()
    yield


# Protocol runs shared by several test files (each costs tens of seconds in C++ standalone).
FAST_PAIRING = dict(trial_interval=1.0, test_interval=0.5, window_delays=(-20.0, 0.0, 20.0), pairing_counts=(2, 8))


def fast_pairing_config():
    """The pairing experiment with 1 s between trials (all traces decay within 1 s; see benchmarks/)."""
    from brian2 import second

    from cortex_sim.protocols.pairing import PairingConfig

    cfg = dict(FAST_PAIRING)
    cfg["trial_interval"] *= second
    cfg["test_interval"] *= second
    return PairingConfig(**cfg)


def _once_per_run(tmp_path_factory, name, make):
    """A session fixture's value computed once per test run: with pytest-xdist the first worker that
    needs it computes it and the others load it (pickled, in the run's shared temporary folder),
    instead of every worker simulating the same protocol again."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return make()
    import fcntl
    import pickle

    shared = tmp_path_factory.getbasetemp().parent          # one folder per run, shared by its workers
    path = shared / f"{name}.pkl"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return pickle.loads(path.read_bytes())
        value = make()
        path.write_bytes(pickle.dumps(value))
        return value


@pytest.fixture(scope="session")
def pairing_fast_event(tmp_path_factory):
    from cortex_sim.protocols.pairing import run_pairing

    return _once_per_run(tmp_path_factory, "pairing_fast_event",
                         lambda: run_pairing(fast_pairing_config(), device="cpp"))


@pytest.fixture(scope="session")
def frequency_full_event(tmp_path_factory):
    """Sjöström's protocol as published (15 groups, 10 s apart), event form, dt = 0.1 ms."""
    from cortex_sim.protocols.frequency import run_frequency

    return _once_per_run(tmp_path_factory, "frequency_full_event", run_frequency)
