"""analyses/remove_top_pretrained.py on a tiny model: remove_top:k rows at the best LASER place, and the reference edit."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from analyses_checks import assert_provenance_of


def test_remove_top_table(load_script, tiny_model_dirs, tmp_path, capsys):
    laser = tmp_path / "laser" / "tiny" / "factual-controls"
    laser.mkdir(parents=True)
    (laser / "best.json").write_text(json.dumps({"edit": "1:mlp_in:lowrank:0.1"}))
    script = load_script("remove_top_pretrained")
    script.main(["--models", "tiny", "--k", "1", "2", "--n", "6", "--laser-root", str(tmp_path / "laser"),
                 "--out", str(tmp_path / "out"), "--model-spec", str(tiny_model_dirs["gpt2"]), "--device", "cpu"])
    table = pd.read_parquet(tmp_path / "out" / "tiny" / "summary.parquet")
    assert table["edit"].tolist() == ["none", "1:mlp_in:lowrank:0.1", "1:mlp_in:remove_top:1", "1:mlp_in:remove_top:2"]
    assert (table["n_prompts"] == 6).all()
    assert_provenance_of(tmp_path / "out" / "tiny" / "config.json")
    for col in ("mean_p_answer", "mean_p_the", "ratio_of_means", "geo_mean_ratio"):
        assert table[col].map(math.isfinite).all(), col
    edited = table.iloc[1:]
    assert (edited["delta_p_the"] == edited["mean_p_the"] - table["mean_p_the"].iloc[0]).all()
    assert "remove_top:2" in capsys.readouterr().out


def test_missing_best_json_is_exit_2(load_script, tmp_path, capsys):
    script = load_script("remove_top_pretrained")
    with pytest.raises(SystemExit) as exc:
        script.main(["--models", "tiny", "--laser-root", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "best.json not found" in err[0]
