"""Atomic file output: write to a temporary file beside the target, then rename it into place."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_path", "check_writable_dir", "check_writable_file"]


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
