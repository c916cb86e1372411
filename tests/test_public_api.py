"""The public API is what the documentation's API reference lists, and nothing else.

Public names are the names in a module's ``__all__``; every one of them (re-exports included) must
be documented in ``docs/api.md`` (the same object under its defining module), and every name the
page documents must be in its module's ``__all__``. Internal helpers stay out of both.
"""

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import cortex_sim

API = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def _documented():
    entries = re.findall(r"^   (cortex_sim(?:\.\w+)+)$", API.read_text(), re.M)
    out = {}
    for entry in entries:
        module, name = entry.rsplit(".", 1)
        out[entry] = (importlib.import_module(module), name)
    return out


def _modules():
    yield cortex_sim
    for info in pkgutil.walk_packages(cortex_sim.__path__, "cortex_sim."):
        if info.name.endswith("__main__") or any(part.startswith("_") for part in info.name.split(".")):
            continue
        yield importlib.import_module(info.name)


@pytest.mark.codegen_independent
def test_every_public_name_is_documented_and_every_documented_name_is_public():
    documented = _documented()
    assert len(documented) > 50
    objects = {id(getattr(mod, name)) for mod, name in documented.values()}
    for entry, (mod, name) in documented.items():
        assert name in getattr(mod, "__all__", ()), f"{entry} is documented but not in {mod.__name__}.__all__"
    missing = []
    for mod in _modules():
        for name in getattr(mod, "__all__", ()):
            if name.startswith("__"):
                continue
            if id(getattr(mod, name)) not in objects:
                missing.append(f"{mod.__name__}.{name}")
    assert not missing, f"public but not in docs/api.md: {missing}"


@pytest.mark.codegen_independent
def test_internal_helpers_are_not_public():
    for mod, name in (("cortex_sim.plasticity.traces", "connect_and_schedule"),
                      ("cortex_sim.models.base", "spike_clamp_spec"),
                      ("cortex_sim.devices", "private_run_folder"), ("cortex_sim.devices", "device_generation")):
        assert name not in importlib.import_module(mod).__all__, (mod, name)
