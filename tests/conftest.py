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


@pytest.fixture(scope="session")
def pairing_fast_event():
    from cortex_sim.protocols.pairing import run_pairing

    return run_pairing(fast_pairing_config(), device="cpp")


@pytest.fixture(scope="session")
def frequency_full_event():
    """Sjöström's protocol as published (15 groups, 10 s apart), event form, dt = 0.1 ms."""
    from cortex_sim.protocols.frequency import run_frequency

    return run_frequency()
