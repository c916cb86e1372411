"""pytest setup for the whole repository: the tests in tests/ and the docstring examples of cortex_sim.

Importing brian2 replaces pytest's doctest collector with Brian2's own (brian2/tests/__init__.py),
which fails on a package's ``__init__.py`` (IndexError); pytest's collector is put back.
"""

from _pytest import doctest as _pytest_doctest

_COLLECTOR = _pytest_doctest.DoctestModule
import brian2  # noqa: E402,F401

_pytest_doctest.DoctestModule = _COLLECTOR
