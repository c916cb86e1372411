"""The `figures` and `notebooks` commands: what they write and what they refuse.

`figures` re-plots the README's study and benchmark figures from the stored results in results/
(and reruns the simulation figures; the voltage clamp here, a few seconds); each figure is a PNG of
a real plot (> 10 kB), listed in the JSON. `notebooks` lists the repository's notebooks (executing
them is tests/test_notebooks.py's job, in a scratch copy); both refuse an unknown name with one
line and exit status 2.
"""

import json

import pytest

from cortex_sim.cli import main

STORED = ("readout", "spiking_mnist5k_readout", "spiking_digits_readout", "spiking_mnist5k_receptive_fields",
          "scaling")


def test_figures_from_stored_results_and_a_simulation(tmp_path, capsys):
    names = (*STORED, "clamp")
    assert main(["figures", "--only", ",".join(names), "--out", str(tmp_path), "--json"]) == 0
    written = json.loads(capsys.readouterr().out)["figures"]
    assert [p.rsplit("/", 1)[1] for p in written] == [f"{n}.png" for n in names]
    for name in names:
        png = tmp_path / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000, name


def test_notebooks_are_listed(capsys):
    assert main(["notebooks", "--json"]) == 0
    listed = [r["notebook"].rsplit("/", 1)[1] for r in json.loads(capsys.readouterr().out)["notebooks"]]
    assert listed == sorted(listed) and "plasticity_explorer.ipynb" in listed and len(listed) >= 4


@pytest.mark.parametrize("argv,word", [(["figures", "--only", "nosuch"], "--only: got 'nosuch'"),
                                       (["notebooks", "--only", "nosuch"], "--only: got 'nosuch'"),
                                       (["notebooks", "--timeout", "1"], "--timeout")])
def test_unknown_names_are_one_line_and_exit_2(argv, word, tmp_path, capsys):
    assert main([*argv, "--json"] + (["--out", str(tmp_path)] if argv[0] == "figures" else [])) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and word in err[0], err
