"""The sweep store: one JSON record per finished point, keyed by a hash of the job, its options,
the point and the package version, written atomically; a store of another model is refused with
the differences named (the layout is in :mod:`cortex_sim.sweeps.engine`)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .._files import atomic_path
from ..errors import ParameterError

__all__ = ["read_store"]


def package_version():
    from .. import __version__

    return __version__


def _hash(obj, n=20):
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:n]


def point_key(job_name, fields, point):
    """The key of one point: a hash of the job, its fields (options), the point and the version."""
    return _hash({"job": job_name, "fields": fields, "point": point, "cortex_sim": package_version()})


def _differences(a, b, prefix=""):
    """Dotted names of the entries where the nested dicts ``a`` and ``b`` differ."""
    out = []
    for k in sorted(set(a) | set(b), key=str):
        va, vb = a.get(k), b.get(k)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += _differences(va, vb, f"{prefix}{k}.")
        elif va != vb:
            out.append(f"{prefix}{k} ({_short(va)} in the store, {_short(vb)} now)")
    return out


def _short(value, n=60):
    text = repr(value)
    return text if len(text) <= n else text[: n - 3] + "..."


def write_json(path, obj):
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        json.dump(obj, f, indent=1, default=float)
        f.flush()
        os.fsync(f.fileno())


def open_store(store, job, names, fields, *, force=False):
    """Create or check the store folder; return the records already in it, by point key.

    A store written by another sweep (another job, parameter names, options or package version)
    raises ParameterError naming the differences, unless ``force`` (then it is started again).
    A record that is not valid JSON raises ParameterError naming the file.
    """
    from .._files import check_writable_dir

    if store is None:
        return {}
    store = Path(store)
    check_writable_dir(store, "store")
    head = {"cortex_sim_store": 1, "job": job.name, "params": list(names), "fields": fields,
            "cortex_sim": package_version()}
    head_path = store / "store.json"
    if head_path.exists() and not force:
        try:
            old = json.loads(head_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            old = None
        if not isinstance(old, dict) or "cortex_sim_store" not in old:
            raise ParameterError(f"store: {str(store)!r} holds a store.json that is not a cortex_sim sweep store; "
                                 "allowed: a folder written by this sweep, an empty or new folder, or --force")
        want = json.loads(json.dumps(head, default=str))
        if {k: old.get(k) for k in want} != want:
            diff = (_differences({k: old.get(k) for k in want}, want) if old.get("job") == job.name
                    else [f"job ({_short(old.get('job'))} in the store, {job.name!r} now)"])
            raise ParameterError(f"store: {str(store)!r} holds another sweep: {'; '.join(diff[:4])}; allowed: the "
                                 "same job, parameters and options, another --store, or --force to start it again")
    elif not force and store.is_dir() and (store / "points").is_dir() and any((store / "points").iterdir()):
        raise ParameterError(f"store: {str(store)!r} holds records but no store.json; allowed: a folder written by "
                             "this sweep, an empty or new folder, or --force")
    if force:
        import shutil

        for sub in ("points", "failed"):
            shutil.rmtree(store / sub, ignore_errors=True)
    write_json(head_path, head)
    (store / "points").mkdir(parents=True, exist_ok=True)
    return read_store(store)


def read_store(store):
    """The records of a store folder, ``{key: {"point", "record", ...}}``."""
    done = {}
    for path in sorted((Path(store) / "points").glob("*.json")):
        try:
            rec = json.loads(path.read_text())
            done[rec["key"]] = rec
        except (json.JSONDecodeError, KeyError, UnicodeDecodeError):
            raise ParameterError(f"store: {str(path)!r} is not a record of this sweep; allowed: records written by "
                                 "cortex_sim (remove the file, or --force)") from None
    return done
