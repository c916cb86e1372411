"""Sphinx configuration of the cortex_sim documentation (``./dev docs`` builds it)."""

import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import cortex_sim  # noqa: E402

project = "cortex_sim"
author = "the cortex_sim developers"
copyright = "2026, the cortex_sim developers"
release = version = cortex_sim.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_nb",
    "sphinx_gallery.gen_gallery",
    "sphinxarg.ext",
    "sphinxcontrib.bibtex",
]

# -- sources ----------------------------------------------------------------------------------------
exclude_patterns = ["_build", "**.ipynb_checkpoints", "guide/spike_pairs.md", "guide/discretisation.md",
                    "guide/neuron_figures.md", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json", "auto_examples/*.md5"]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]

# the notebooks are rendered with their stored outputs (never executed here): copied in at build time
nb_execution_mode = "off"
_NB = HERE / "notebooks"
_NB.mkdir(exist_ok=True)
for _src in sorted((ROOT / "notebooks").glob("*.ipynb")):
    if not (_NB / _src.name).exists() or (_NB / _src.name).stat().st_mtime < _src.stat().st_mtime:
        shutil.copy2(_src, _NB / _src.name)

# -- API reference ----------------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "inherited-members": False, "show-inheritance": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()
numpydoc_xref_param_type = False

intersphinx_mapping = {"python": ("https://docs.python.org/3", None)} if os.environ.get("CORTEX_SIM_DOCS_ONLINE") else {}

# -- bibliography -----------------------------------------------------------------------------------
bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

# -- gallery ----------------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "show_memory": False,
    "write_computation_times": True,
}

# -- output -----------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"cortex_sim {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path = []
