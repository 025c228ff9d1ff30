"""interp.plots: atomic saves, no backend switch, no leaked settings; every package's figure writer on tiny data."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from interp.plots import GRID, new_figure, save_figure, themed

REPO = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"


def _figure() -> Figure:
    fig = new_figure((2, 2))
    fig.subplots().plot([0, 1], [1, 0])
    return fig


def _png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG


def test_save_figure_writes_the_file_and_leaves_no_temp_file(tmp_path):
    path = save_figure(_figure(), tmp_path / "sub" / "f.png")
    assert path == tmp_path / "sub" / "f.png" and _png(path)
    assert [p.name for p in path.parent.iterdir()] == ["f.png"]


def test_a_failing_save_leaves_neither_the_file_nor_a_temp_file(tmp_path, monkeypatch):
    """A save that dies half-way (here: after writing some bytes, as on a full disk) leaves the folder as it was."""

    def dies_half_way(self, fname, **kwargs):  # noqa: ARG001
        Path(fname).write_bytes(PNG + b"half")
        raise OSError("No space left on device")

    monkeypatch.setattr(Figure, "savefig", dies_half_way)
    with pytest.raises(OSError, match="No space"):
        save_figure(_figure(), tmp_path / "new.png")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "old.png").write_bytes(b"the previous figure")
    with pytest.raises(OSError, match="No space"):
        save_figure(_figure(), tmp_path / "old.png")
    assert [p.name for p in tmp_path.iterdir()] == ["old.png"]
    assert (tmp_path / "old.png").read_bytes() == b"the previous figure"


def test_save_figure_closes_a_pyplot_figure(tmp_path):
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(2, 2))
    save_figure(fig, tmp_path / "f.png")
    assert not plt.fignum_exists(fig.number)


def test_importing_and_drawing_keep_the_backend_a_user_chose():
    """A notebook picks its backend first; importing every figure module and drawing a figure leaves it."""
    code = f"""
import importlib.util, sys, tempfile
import matplotlib
matplotlib.use("svg")
import pandas as pd
import interp.plots, interp.scoring.plots, interp.laser.plots, interp.gsm8k.plots
import interp.checkpoint_sweeps.plots, interp.attribution.plots
for name in ("toy_birth", "toy_noisy_recall"):
    spec = importlib.util.spec_from_file_location(name, "{REPO / 'analyses'}/" + name + ".py")
    module = importlib.util.module_from_spec(spec); sys.modules[name] = module; spec.loader.exec_module(module)
frame = pd.DataFrame({{"p_the": [0.1, 0.2], "p_answer": [0.3, 0.0]}})
interp.scoring.plots.p_the_vs_p_answer(frame, tempfile.mkdtemp() + "/f.png", title="t")
print(matplotlib.get_backend())
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "svg"


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _probs(n: int) -> pd.DataFrame:
    rng = _rng()
    return pd.DataFrame({"p_the": rng.uniform(1e-4, 0.6, n), "p_answer": np.r_[0.0, rng.uniform(0, 0.9, n - 1)],
                         "log_ratio": rng.normal(0, 1, n)})


def _scoring(out: Path) -> list[Path]:
    from interp.scoring.plots import p_the_vs_p_answer

    return [p_the_vs_p_answer(_probs(8), out / "p_the_vs_p_answer.png", title="tiny")]


def _laser(out: Path) -> list[Path]:
    from interp.laser.plots import HEATMAPS, before_after, laser_heatmaps

    rows = [{"kind": "lowrank", "matrix": m, "layer": layer, "rho": rho, **{c: 0.1 * layer - rho for c, _ in HEATMAPS.values()}}
            for m in ("mlp_in", "mlp_out") for layer in (0, 1) for rho in (0.5, 0.1)]
    written = laser_heatmaps(pd.DataFrame(rows), out, title="tiny")
    assert sorted(p.name for p in written) == sorted(HEATMAPS)
    return [*written, before_after(_probs(6), _probs(6), out / "p_the_vs_p_answer_best.png", title="t", after_label="1:mlp_in:0.1")]


def _gsm8k(out: Path) -> list[Path]:
    from interp.gsm8k.plots import accuracy_by_edit

    table = pd.DataFrame({"edit": ["baseline", "1:mlp_in:lowrank:0.1"], "accuracy": [0.3, 0.4], "ci_low": [0.2, 0.3], "ci_high": [0.4, 0.5]})
    return [accuracy_by_edit(table, out / "accuracy_by_edit.png", title="tiny")]


def _checkpoint_sweeps(out: Path) -> list[Path]:
    from interp.checkpoint_sweeps.plots import ratio_plot, training_dynamics
    from interp.edits.spec import NO_EDIT

    summary = pd.DataFrame([{"edit": e, "step": s, "mean_p_the": 0.2, "mean_p_answer": 0.1 * i, "mean_p_s": 0.05, "ratio_of_means": 0.5 + i}
                            for i, e in enumerate((NO_EDIT, "1:mlp_in:lowrank:0.1")) for s in (0, 1, 2, 4)])
    return [training_dynamics(summary, out / "training_dynamics.png", title="t"), ratio_plot(summary, out / "ratio.png", title="t")]


def _attribution(out: Path) -> list[Path]:
    from interp.attribution.plots import scope_heatmaps, summary_figure
    from interp.attribution.scores import CATEGORIES

    maps = {0: {"ATB": np.tril(_rng().uniform(0, 1, (3, 3)))}}
    paths = scope_heatmaps(out, ["a", " b", "\n"], maps)
    pairs, scopes = ["ATB->ATBFF"], ["ATBFF", "ATBFFRES", "ATBFFRESLN"]
    per_layer = {"0": {"spearman": {pairs[0]: {"mean": 0.5}},
                       "amplification": {s: {c: {"mean_log2_ratio": 0.1} for c in CATEGORIES} for s in scopes}}}
    summary_figure(out / "summary.png", {"per_layer": per_layer, "scope_pairs": pairs, "amplified_scopes": scopes,
                                         "model": "tiny", "n_prompts": 1, "ig_steps": 2})
    return [*paths, out / "summary.png"]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"analyses_{name}", REPO / "analyses" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _toy_analyses(out: Path) -> list[Path]:
    steps = [0, 1, 2]
    history = pd.DataFrame({"step": steps, "icl_acc": [0.1, 0.5, 0.9], "probe_wo2": [0.0, 0.2, 0.4],
                            "probe_wk2": [0.1, 0.1, 0.3], "probe_wk1": [0.2, 0.3, 0.3]})
    _script("toy_birth").plot({"1layer_paper": history, "2layer": history}, out / "birth.png")
    metrics = pd.DataFrame({"step": steps, "p_noise": [0.1, 0.2, 0.3], "p_correct": [0.5, 0.6, 0.7], "icl_acc": [0.2, 0.5, 0.8]})
    checkpoints = pd.DataFrame({"step": steps, **{f"{c}_{v}": [0.1, 0.2, 0.3] for c in ("p_noise", "p_correct") for v in ("full", "no_mlp2")}})
    _script("toy_noisy_recall").plot(metrics, checkpoints, 0.2, out / "noisy_recall.png")
    return [out / "birth.png", out / "noisy_recall.png"]


@pytest.mark.parametrize("writers", [_scoring, _laser, _gsm8k, _checkpoint_sweeps, _attribution, _toy_analyses],
                         ids=lambda f: f.__name__.strip("_"))
def test_each_figure_writer_writes_its_pngs_and_leaves_matplotlib_settings_alone(writers, tmp_path):
    before = {k: v for k, v in mpl.rcParams.items() if k != "backend"}
    paths = writers(tmp_path)
    assert paths and all(_png(p) for p in paths), paths
    assert sorted(tmp_path.iterdir()) == sorted(paths)  # no temporary files left
    assert {k: v for k, v in mpl.rcParams.items() if k != "backend"} == before


def test_themed_applies_its_theme_inside_the_block_only():
    before = mpl.rcParams["axes.grid"]
    with themed(GRID):
        assert mpl.rcParams["axes.grid"] is True and mpl.rcParams["axes.facecolor"] == "white"
    assert mpl.rcParams["axes.grid"] == before
