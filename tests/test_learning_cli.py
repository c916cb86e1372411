"""`cortex-sim learn`: JSON schema, table, figure, resume and bad input."""

import json

import pytest

from cortex_sim.cli import main
from cortex_sim.learning.results import collect_study

pytestmark = pytest.mark.codegen_independent


def _run(capsys, *argv):
    rc = main(["learn", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("argv, match", [
    (["--rule", "clap"], "did you mean 'clapp'"),
    (["--rule", "clapp,backprop"], "rule: got 'backprop'"),
    (["--dataset", "cifar"], "dataset: got 'cifar'"),
    (["--dataset", "stl10", "--data-dir", "/nonexistent/stl"], "stl10_binary.tar.gz"),
    (["--dataset", "stl10"], "data_dir"),
    (["--seeds", "0"], "seeds: got 0"),
    (["--epochs", "0", "--dataset", "digits"], "epochs: got 0"),
    (["--dataset", "digits", "--preset", "mnist5k"], "preset"),
    (["--dataset", "digits", "--unlabeled"], "unlabeled"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, argv, match):
    rc, out, err = _run(capsys, *argv, "--out", str(tmp_path), "--no-progress")
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and match in err, err


def test_learn_json_schema_table_figure_and_resume(capsys, tmp_path):
    argv = ["--rule", "clapp,random", "--dataset", "digits", "--seeds", "2", "--epochs", "1",
            "--max-train-images", "64", "--out", str(tmp_path / "run"), "--figures", str(tmp_path),
            "--json", "--no-progress"]
    rc, out, _ = _run(capsys, *argv)
    assert rc == 0
    res = json.loads(out)["results"]
    assert [r["rule"] for r in res] == ["clapp", "random"]
    for r in res:
        assert r["dataset"] == "digits" and isinstance(r["train_s"], float)
        assert [x["layer"] for x in r["layers"]] == [0, 1, 2, 3, 4]
        assert all(set(x) == {"layer", "accuracy_mean", "accuracy_std"} for x in r["layers"])
        assert all(0.5 < x["accuracy_mean"] <= 1 for x in r["layers"])
    # layer 0 is the raw pixels: digits 97.0 % with logistic regression (measured over 5 stratified 80/20 splits);
    # one fixed 80/20 split here, tolerance +- 2.5 points
    assert res[0]["layers"][0]["accuracy_mean"] == pytest.approx(0.97, abs=0.025)
    assert res[0]["layers"][0] == res[1]["layers"][0]
    assert res[1]["train_s"] == 0.0
    assert (tmp_path / "readout.png").stat().st_size > 10_000
    table = (tmp_path / "run" / "readout.md").read_text()
    assert "| clapp | yes | yes (space and time) | no |" in table and "2x2-grid" in table
    # paired statistics over the same seeds, in accuracy fractions, and the two reference rows
    full = json.loads(out)
    (comp,) = full["comparisons"]
    assert (comp["a"], comp["b"], comp["n"]) == ("clapp", "random", 2)
    lo, hi = comp["ci95"]
    # Student's t with n - 1 = 1 degree of freedom: half-width t_0.975,1 sd / sqrt(2), t_0.975,1 = 12.7062
    assert (hi - lo) / 2 == pytest.approx(12.7062047 * comp["diff_sd"] / 2 ** 0.5, rel=1e-6)
    assert abs(comp["diff_mean"]) < 0.2
    refs = full["references"]
    assert refs["random_relu"]["width"] == 128 and len(refs["random_relu"]["accuracy"]) == 2
    # 1-NN on raw digits pixels: about 98 % (scikit-learn's digits, any reasonable split); +- 3 points
    assert refs["nn1_pixels"]["accuracy"] == pytest.approx(0.98, abs=0.03)
    assert "1-NN on raw pixels" in table and "Paired differences" in table
    assert (tmp_path / "run" / "checkpoints" / "clapp_digits_seed1.npz").exists()
    # --resume reuses finished trainings and readouts: the same numbers
    rc, out2, _ = _run(capsys, *argv, "--resume")
    assert rc == 0 and json.loads(out2)["results"] == res
    # studies run in separate processes are merged from their readout files
    merged = collect_study([tmp_path / "run"], "digits").results
    assert [{k: r[k] for k in res[0]} for r in merged] == res


def test_an_out_folder_is_owned_by_one_run_and_a_study_is_never_overwritten_silently(capsys, tmp_path):
    """Before: two runs into one --out both exited 0 and results.json held only
    the second; a finished study re-run without --resume was restarted over its checkpoints."""
    import os

    from cortex_sim._files import owned_folder

    out = tmp_path / "run"
    argv = ["--rule", "random", "--dataset", "digits", "--seeds", "1", "--epochs", "1", "--max-train-images", "32",
            "--out", str(out), "--no-figure", "--json", "--no-progress"]
    with owned_folder(out):                        # a run writing into the folder (this process holds it)
        rc, stdout, err = _run(capsys, *argv)
    assert rc == 2 and stdout == "" and err.count("\n") == 1
    assert "which another run is writing into" in err and f"pid {os.getpid()}" in err
    assert not (out / "results.json").exists()

    rc, first, _ = _run(capsys, *argv)             # the folder is free again
    assert rc == 0 and (out / "results.json").exists()
    stamp = (out / "results.json").stat().st_mtime_ns
    rc, stdout, err = _run(capsys, *argv)          # the same command again: refused, nothing touched
    assert rc == 2 and stdout == "" and err.count("\n") == 1
    assert "holds a finished study" in err and "--resume" in err and "--force" in err
    assert (out / "results.json").stat().st_mtime_ns == stamp
    rc, again, _ = _run(capsys, *argv, "--resume")     # reused: the same numbers
    assert rc == 0 and json.loads(again)["results"] == json.loads(first)["results"]
    rc, forced, _ = _run(capsys, *argv, "--force")     # discarded and run again: deterministic, the same numbers
    assert rc == 0 and json.loads(forced)["results"] == json.loads(first)["results"]
    rc, _, err = _run(capsys, *argv, "--force", "--resume")
    assert rc == 2 and "--force" in err and err.count("\n") == 1


def test_paired_comparison_of_a_constructed_study():
    """Best layer per seed (the pixels, layer 0, excluded), paired over the seeds both rules ran,
    Student's t interval: differences 0.10, 0.07, 0.13 -> mean 0.10, sd 0.03, half-width
    t_0.975,2 x 0.03 / sqrt(3) = 4.302653 x 0.017321 = 0.074524."""
    from cortex_sim.learning.results import paired_comparisons

    def row(rule, seed, best):
        layers = [{"accuracy": 0.99}, {"accuracy": best - 0.05}, {"accuracy": best}]   # layer 0: pixels
        return {"rule": rule, "seed": seed, "readouts": {"patch-average": layers}}

    per_seed = ([row("a", s, acc) for s, acc in enumerate((0.80, 0.82, 0.84))]
                + [row("b", s, acc) for s, acc in enumerate((0.70, 0.75, 0.71))] + [row("b", 7, 0.5)])
    (c,) = paired_comparisons(per_seed)
    assert (c["a"], c["b"], c["n"]) == ("a", "b", 3)                 # seed 7 has no partner
    assert c["diff_mean"] == pytest.approx(0.10, abs=1e-12) and c["diff_sd"] == pytest.approx(0.03, abs=1e-12)
    assert c["ci95"] == pytest.approx([0.10 - 0.074524, 0.10 + 0.074524], abs=1e-6)
    assert c["excludes_zero"] is True
