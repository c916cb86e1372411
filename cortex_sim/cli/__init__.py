"""The ``cortex-sim`` command. Every command has ``--json``; bad input: one line on stderr, exit 2.

Conventions: outputs go to ``cortex_sim_out/<command>/`` unless ``--out`` says otherwise, and the
folder is checked before any work; JSON goes to stdout before any figure is written and carries
``"cortex_sim": {"version", "command", "parameters"}``; progress goes to stderr through the
``cortex_sim`` logger (``-q`` quiet, ``-v`` verbose); Ctrl-C or SIGTERM prints one line and exits
130, and nothing of an interrupted run is analysed or written. Accuracies are percent in tables and
fractions in JSON files (``accuracy_mean`` 0.924 = 92.4 %); weights are ratios ``w/w0``.

One module per command group (:mod:`~cortex_sim.cli.neuron`, :mod:`~cortex_sim.cli.pairing`,
:mod:`~cortex_sim.cli.plasticity`, :mod:`~cortex_sim.cli.figures`, :mod:`~cortex_sim.cli.sweep`,
:mod:`~cortex_sim.cli.learn`, :mod:`~cortex_sim.cli.bench`, :mod:`~cortex_sim.cli.cache`): each
declares its options in ``register(sub)`` and the function that runs the command; the parser is
built from those declarations (:func:`build_parser`), and shared options and conventions live in
:mod:`cortex_sim.cli._options`.
"""

from ._main import build_parser, main

__all__ = ["main", "build_parser"]
