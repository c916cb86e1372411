"""Shared fixtures: quiet Brian2 logging, a temporary figures folder."""

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _quiet_brian():
    from brian2 import BrianLogger

    BrianLogger.log_level_warn()
    yield
