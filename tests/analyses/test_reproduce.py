"""Smoke test of ``analyses/reproduce.py``: the tiers' commands, the comparison of result files, and
one quick step written and then reproduced on a tiny model (the other steps run the same code)."""

from __future__ import annotations

import json

import pytest


def test_list_names_every_step_of_both_tiers(load_script, capsys):
    script = load_script("reproduce")
    script.main(["quick", "--list"])
    quick = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in quick] == [s.name for s in script.QUICK]
    assert any("laser-sweep" in line and "--controls" in line for line in quick)
    script.main(["full", "--list"])
    full = capsys.readouterr().out
    assert "laser_sweeps.py smollm2-135m/factual smollm2-135m/ioi" in full and "mini_pythia_dynamics.py" in full


def test_every_run_folder_command_is_in_the_quick_tier(load_script):
    commands = {" ".join(s.argv[1:3]) if s.argv[1] in ("toy", "lm") else s.argv[1] for s in load_script("reproduce").QUICK}
    assert commands == {"eval", "laser-sweep", "gsm8k", "attribution", "toy train", "toy eval", "checkpoint-sweep", "lm train"}


def test_compare_skips_times_and_provenance_and_flags_numbers(load_script, tmp_path):
    script = load_script("reproduce")
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"x": {"p": 0.5, "label": "k"}, "generation_s": 3.0, "provenance": {"started": "t1"}, "rows": [1, 2]}))
    b.write_text(json.dumps({"x": {"p": 0.5, "label": "k"}, "generation_s": 9.0, "provenance": {"started": "t2"}, "rows": [1, 2]}))
    assert script.compare(script.read_numbers(a), script.read_numbers(b), 1e-4) == ([], 0.0)
    b.write_text(json.dumps({"x": {"p": 0.5001, "label": "j"}, "rows": [1, 2, 3]}))
    bad, worst = script.compare(script.read_numbers(a), script.read_numbers(b), 1e-6)
    assert bad == ["rows.2 missing", "x.label 'k' vs 'j'", "x.p 0.5 vs 0.5001"]
    assert worst == pytest.approx(1e-4 / 0.5001)
    assert script.compare(script.read_numbers(a), script.read_numbers(b), 1e-3)[0] == ["rows.2 missing", "x.label 'k' vs 'j'"]


def test_a_quick_step_written_then_reproduced(load_script, tiny_model_dirs, tmp_path, capsys):
    script = load_script("reproduce")
    model, reference = str(tiny_model_dirs["gpt2"]), tmp_path / "reference"
    script.main(["quick", "--only", "eval-ioi", "--model", model, "--reference", str(reference), "--write"])
    assert (reference / "eval-ioi" / "summary.json").is_file()
    script.main(["quick", "--only", "eval-ioi", "--model", model, "--reference", str(reference), "--out", str(tmp_path / "again")])
    assert "every number matches" in capsys.readouterr().out

    summary = json.loads((reference / "eval-ioi" / "summary.json").read_text())
    summary["mean_p_answer"] *= 1.1  # a committed number the code no longer prints (10%: beyond the tolerances)
    (reference / "eval-ioi" / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(SystemExit) as exit_info:
        script.main(["quick", "--only", "eval-ioi", "--model", model, "--reference", str(reference), "--out", str(tmp_path / "third")])
    assert exit_info.value.code == 1
    assert "mean_p_answer" in capsys.readouterr().out


def test_a_full_step_prints_what_its_command_printed(load_script, tmp_path, capsys):
    """The full tier's output is what the results READMEs quote: each step's printed lines, progress bars as last drawn."""
    script = load_script("reproduce")
    step = script.Step("hello", ("python", "-c", "import sys; sys.stdout.write('loading 1/2\\rloading 2/2\\nbest: 7\\n')"), ())
    script.run_step(step, tmp_path, tmp_path, "unused", tmp_path, echo=True)
    assert capsys.readouterr().out.split("\n")[1:3] == ["loading 2/2", "best: 7"]
    script.run_step(step, tmp_path, tmp_path, "unused", tmp_path)
    assert len(capsys.readouterr().out.split("\n")) == 3  # the command and its time only
