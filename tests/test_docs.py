"""The documentation site builds without a warning, its gallery runs, and it lists what it must.

The build is Sphinx with warnings as errors (``./dev docs`` runs the same command): the pages,
the API reference from the docstrings, the CLI reference from the parser, the gallery (every
example executed) and the notebooks (rendered as stored).
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

pytest.importorskip("sphinx")
pytest.importorskip("sphinx_gallery")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs")
    for generated in ("auto_examples", "generated"):   # every example runs, every API page is new
        shutil.rmtree(DOCS / generated, ignore_errors=True)
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-b", "html", str(DOCS),
                           str(out / "html"), "-d", str(out / "doctrees")], capture_output=True, text=True,
                          timeout=900, cwd=ROOT, env={**__import__("os").environ, "MPLBACKEND": "Agg"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert "WARNING" not in proc.stderr, proc.stderr[-6000:]
    return out / "html", proc


def test_pages_gallery_and_notebooks_are_built(site):
    html, proc = site
    for page in ("index", "getting_started", "cli", "api", "references", "notebooks", "guide/experiments",
                 "guide/plasticity", "guide/neuron", "guide/sweeps", "guide/devices"):
        assert (html / f"{page}.html").exists(), page
    examples = sorted(p.stem for p in (ROOT / "examples").glob("plot_*.py"))
    assert len(examples) >= 7
    for name in examples:   # each example ran and drew its figure
        page = (html / "auto_examples" / f"{name}.html").read_text()
        assert "sphx-glr-single-img" in page or "sphx-glr-multi-img" in page, name
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        page = (html / "notebooks" / f"{nb.stem}.html").read_text()
        assert "<img" in page, nb.stem    # rendered with its stored figures


def test_the_cli_reference_has_every_command_and_option(site):
    html, _ = site
    from cortex_sim.cli import build_parser

    page = (html / "cli.html").read_text()

    def walk(parser, path):
        subs = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
        if not subs:
            yield path, parser
        for action in subs:
            for name, sub in action.choices.items():
                yield from walk(sub, path + (name,))

    commands = list(walk(build_parser(), ()))
    assert len(commands) >= 12
    for path, parser in commands:   # a section per command, and each of its options documented
        assert f'section id="cortex-sim-{"-".join(path)}"' in page, path
        for action in parser._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help":
                    assert re.search(rf"[>, ]{re.escape(option)}[<,]", page), (path, option)


def test_the_api_reference_lists_the_top_level_names(site):
    html, _ = site
    import cortex_sim

    api = (html / "api.html").read_text() + "".join(p.read_text() for p in (html / "generated").glob("*.html"))
    missing = [n for n in cortex_sim.__all__ if not n.startswith("__") and n not in api]
    assert not missing, missing
    bib = (html / "references.html").read_text()
    for author in ("Clopath", "Naud", "Sjöström", "Illing", "Diehl", "Larkum"):
        assert author in bib, author
