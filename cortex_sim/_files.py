"""Atomic file output: write to a temporary file beside the target, then rename it into place."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_path", "check_writable_dir", "check_writable_file", "owned_folder"]


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path (same folder and suffix as ``path``) that replaces ``path`` on success.

    An interrupted or failed write leaves ``path`` as it was and removes the temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # hidden while it is written: a reader globbing the folder (a sweep store) never sees it
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def check_writable_dir(path, option="--out"):
    """Check, before any work, that ``path`` is (or can be made) a folder we can write in.

    Creates the folder and a probe file to be sure (permissions, read-only and pseudo file systems
    all answer truthfully that way), then removes what it created. Raises ParameterError naming
    ``option``, the path and the reason.
    """
    from .errors import ParameterError

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ParameterError(f"{option}: got {str(path)!r}, which is a file; allowed: a folder (existing or new)")
    created = []
    parent = path
    while not parent.exists():
        created.append(parent)
        parent = parent.parent
    if not parent.is_dir():
        raise ParameterError(f"{option}: got {str(path)!r}; {str(parent)!r} is a file; allowed: a folder path")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ParameterError(f"{option}: got {str(path)!r}, which cannot be written ({exc.strerror}); "
                             "allowed: a folder that can be created and written") from None
    finally:
        for p in created:  # leave no empty folders behind: outputs make them when they are written
            try:
                p.rmdir()
            except OSError:
                pass
    return path


def check_writable_file(path, option):
    """Check, before any work, that the file ``path`` can be created or appended to."""
    from .errors import ParameterError

    path = Path(path)
    if path.is_dir():
        raise ParameterError(f"{option}: got {str(path)!r}, which is a folder; allowed: a file path")
    check_writable_dir(path.parent if str(path.parent) else ".", option)
    if path.exists() and not os.access(path, os.W_OK):
        raise ParameterError(f"{option}: got {str(path)!r}, which is not writable; allowed: a writable file")
    return path


@contextlib.contextmanager
def owned_folder(path, option="--out"):
    """Hold ``path`` for this run: a second run into it meanwhile gets a ParameterError naming the
    running one (its pid, host and start), instead of both writing the same files.

    An advisory ``fcntl`` lock on ``path/.cortex_sim-run.lock`` (released by the kernel when the
    process ends, however it ends), with who holds it written inside for the message.
    """
    import fcntl
    import json
    import socket
    import time

    from .errors import ParameterError

    path = Path(path)
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    lock_path = path / ".cortex_sim-run.lock"
    with open(lock_path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            try:
                who = json.loads(lock.read() or "{}")
            except ValueError:
                who = {}
            raise ParameterError(
                f"{option}: got {str(path)!r}, which another run is writing into (pid {who.get('pid', '?')} on "
                f"{who.get('host', '?')}, since {who.get('started', '?')}); allowed: a folder no other run uses "
                "(another --out, or wait for that run to end)") from None
        lock.seek(0)
        lock.truncate()
        lock.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                               "started": time.strftime("%Y-%m-%d %H:%M:%S")}))
        lock.flush()
        try:
            yield path
        finally:   # a run that wrote nothing (bad input found later) leaves no folder behind
            if created and [p.name for p in path.iterdir()] == [lock_path.name]:
                lock_path.unlink()
                path.rmdir()
