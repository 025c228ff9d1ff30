"""Regenerate the committed results, in two tiers (``make results``, ``make results-full``).

    python analyses/reproduce.py quick                 # ~10 min on 2 CPU cores: reduced runs into a temporary
                                                        # folder, their numbers compared with results/quick/
    python analyses/reproduce.py quick --write         # rewrite results/quick/ itself (after a change that moves its numbers)
    python analyses/reproduce.py full --list           # the commands that made every committed results folder
    python analyses/reproduce.py full --only laser-smollm2,remove-top --replace
                                                        # rerun some of them into results/ (hours for all)

**quick** runs every command that writes a run folder (eval, laser-sweep with controls,
checkpoint-sweep, gsm8k, attribution, toy train and eval, lm train) at reduced sizes on the
embedded SmolLM2-135M, a small toy run and a tiny trained GPT-NeoX, then compares every number of
each run's result files (``summary.json``, ``best.json``, ``summary.parquet``, ...) with the
committed ``results/quick/``: it prints one line per run with the largest difference and exits 1
when a number differs beyond ``--rtol`` and ``--atol`` (times, paths and provenance are not
compared). The quick runs are deterministic on a CPU with one torch thread, but not across
machines: the same code and torch on another machine moved numbers by up to 9.2e-4 relative,
and near-zero ones (attribution completeness errors of 1e-7) by 3.4e-7 (2026-12-05, against
results/quick written on 2026-12-02), so the defaults are rtol 2e-3 and atol 1e-5.

**full** runs the commands the results READMEs name, in order (later ones read earlier ones'
output: ``remove-top`` reads the LASER control runs' ``best.json``). A run folder that exists is
resumed by its command (a finished one is left as it is); ``--replace`` deletes the targets
first, so the run is made again from scratch. Each results README gives the wall time and machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
QUICK_DIR = REPO / "results" / "quick"
GSM8K_TEST = "../shared/data/gsm8k/test.jsonl"
#: keys never compared: times, throughputs, where files are, and what made the run
SKIP_KEYS = ("seconds", "time", "_s", "per_s", "started", "finished", "provenance", "out", "path", "run", "model_display",
             "data", "lm_text", "checkpoint", "command")


@dataclass(frozen=True)
class Step:
    """One command of a tier: ``argv`` (``interp ...`` or ``python SCRIPT ...``, ``{out}`` and ``{model}``
    filled in), the folders it writes (``targets``, relative to the output root) and the files whose
    numbers are compared (quick tier)."""

    name: str
    argv: tuple[str, ...]
    targets: tuple[str, ...]
    compare: tuple[str, ...] = ()
    uses_model: bool = False
    stdout: str | None = None  # where the command's standard output goes (a file the next steps read)


def _interp(*args: str) -> tuple[str, ...]:
    return ("interp", *args)


def _python(script: str, *args: str) -> tuple[str, ...]:
    return ("python", f"analyses/{script}", *args)


RESULTS = "results"
MODELS = ("smollm2-135m", "gemma-3-270m")
EXAMPLE_SENTENCE = "If I fly, Marcius, Holloa me like a hare."
GSM8K = ("--data", GSM8K_TEST, "--n-shot", "8", "--exemplars", "wei", "--max-new-tokens", "256", "--batch-size", "16", "--device", "cpu")
GSM8K_EDITS = ("22:mlp_in:0.01", "16:mlp_in:0.1")  # each model's edit chosen by its readout sweep (results/gsm8k/README.md)
TOY_SETS = ("--set", "model.d_model=64", "--set", "model.d_mlp=256", "--set", "data.seq_len=64", "--set", "model.n_ctx=64",
            "--set", "optim.batch_size=32")

QUICK: tuple[Step, ...] = (
    Step("eval-ioi", _interp("eval", "--model", "{model}", "--task", "ioi", "--n", "40", "--device", "cpu", "--out", "{out}/eval-ioi"),
         ("eval-ioi",), ("eval-ioi/summary.json", "eval-ioi/results.parquet"), uses_model=True),
    Step("laser-factual", _interp("laser-sweep", "--model", "{model}", "--task", "factual", "--n", "60", "--layers", "-2:",
                                  "--matrices", "mlp_in", "--rhos", "0.1,0.01", "--controls",
                                  "--lm-tokens", "256", "--device", "cpu", "--out", "{out}/laser-factual"),
         ("laser-factual",), ("laser-factual/best.json", "laser-factual/summary.parquet"), uses_model=True),
    Step("gsm8k", _interp("gsm8k", "--model", "{model}", "--data", GSM8K_TEST, "--n", "3", "--n-shot", "1", "--max-new-tokens", "32",
                          "--batch-size", "3", "--device", "cpu", "--out", "{out}/gsm8k"),
         ("gsm8k",), ("gsm8k/summary.json", "gsm8k/results.parquet"), uses_model=True),
    Step("attribution", _interp("attribution", "--model", "{model}", "--prompt", EXAMPLE_SENTENCE,
                                "--layers", "-2:", "--ig-steps", "8", "--device", "cpu", "--out", "{out}/attribution"),
         ("attribution",), ("attribution/summary.json",), uses_model=True),
    Step("toy-train", _interp("toy", "train", "--task", "noisy-recall", "--config", "chen", "--steps", "150", *TOY_SETS,
                              "--device", "cpu", "--out", "{out}/toy"),
         ("toy",), ("toy/metrics.jsonl",)),
    Step("toy-eval", _interp("toy", "eval", "{out}/toy", "--laser", "1:mlp_in:0.01", "--n-sequences", "256", "--device", "cpu"),
         (), ("toy/eval_1-mlp_in-lowrank-0.01.json",)),
    Step("checkpoint-sweep", _interp("checkpoint-sweep", "--model", "{out}/toy", "--steps", "all", "--task", "noisy-recall",
                                     "--n", "64", "--laser", "1:mlp_in:0.01", "--device", "cpu", "--out", "{out}/sweep-toy"),
         ("sweep-toy",), ("sweep-toy/summary.parquet",)),
    Step("lm-train", _interp("lm", "train", "--size", "tiny", "--steps", "40", "--device", "cpu", "--no-progress", "--out", "{out}/lm"),
         ("lm",), ("lm/train.json",)),
)

FULL: tuple[Step, ...] = (
    Step("laser-smollm2", _python("laser_sweeps.py", "smollm2-135m/factual", "smollm2-135m/ioi"),
         ("laser/smollm2-135m/factual", "laser/smollm2-135m/ioi")),
    Step("laser-controls", _python("laser_sweeps.py", "smollm2-135m/factual-controls", "smollm2-135m/ioi-controls",
                                   "gemma-3-270m/factual-controls", "gemma-3-270m/ioi-controls"),
         ("laser/smollm2-135m/factual-controls", "laser/smollm2-135m/ioi-controls", "laser/gemma-3-270m/factual-controls",
          "laser/gemma-3-270m/ioi-controls")),
    Step("remove-top", _python("remove_top_pretrained.py"), ("remove_top/smollm2-135m", "remove_top/gemma-3-270m")),
    Step("toy-birth", _python("toy_birth.py"), ("toy/birth",)),
    Step("toy-noisy-recall", _python("toy_noisy_recall.py"), ("toy/noisy_recall",)),
    Step("toy-noisy-recall-exclude", _python("toy_noisy_recall.py", "--trigger-output", "exclude_trigger",
                                             "--out", "results/toy/noisy_recall/exclude_trigger"), ("toy/noisy_recall/exclude_trigger",)),
    Step("sweep-toy-train", _interp("toy", "train", "--task", "noisy-recall", "--config", "chen", "--steps", "1000",
                                    "--set", "model.d_model=128", "--set", "model.d_mlp=512", "--set", "data.seq_len=128",
                                    "--set", "model.n_ctx=128", "--set", "optim.batch_size=32", "--out", "{tmp}/toyrun"), ()),
    Step("sweep-toy", _interp("checkpoint-sweep", "--model", "{tmp}/toyrun", "--steps", "all", "--task", "noisy-recall", "--n", "256",
                              "--laser", "1:mlp_in:0.01", "--device", "cpu", "--out", "results/checkpoint_sweep/toy-noisy-recall"),
         ("checkpoint_sweep/toy-noisy-recall",)),
    Step("sweep-tiny-models", _interp("tiny", "{tmp}/tiny-ckpts", "--arch", "gpt-neox", "--steps", "0,1,2,4,8,16,32,64"), ()),
    Step("sweep-tiny-demo", _python("pythia_training_dynamics.py", "--model", "{tmp}/tiny-ckpts", "--steps", "all", "--n", "24",
                                    "--out", "results/checkpoint_sweep/tiny-demo"), ("checkpoint_sweep/tiny-demo",)),
    Step("mini-pythia", _python("mini_pythia_dynamics.py"), ("checkpoint_sweep/mini-pythia",)),
    Step("attribution-sentences", _python("attribution_sentences.py", "--n", "200"), (), stdout="{tmp}/shakespeare200.txt"),
    *(Step(f"attribution-{m}", _interp("attribution", "--model", f"embedded:{m}", "--prompts", "{tmp}/shakespeare200.txt",
                                       "--ig-steps", "64", "--batch-size", "8", "--device", "cpu", "--out", f"results/attribution/{m}"),
           (f"attribution/{m}",)) for m in MODELS),
    *(Step(f"attribution-example-{m}", _interp("attribution", "--model", f"embedded:{m}", "--prompt", EXAMPLE_SENTENCE,
                                               "--layers", layer, "--ig-steps", "64", "--device", "cpu",
                                               "--out", f"results/attribution/{m}/example"), (f"attribution/{m}/example",))
      for m, layer in zip(MODELS, ("21", "6"))),
    *(Step(f"gsm8k-harness-{m}", _interp("gsm8k", "--model", f"embedded:{m}", *GSM8K, "--n", "25", "--check-harness",
                                         "--out", f"results/gsm8k/harness-{m}"), (f"gsm8k/harness-{m}",)) for m in MODELS),
    *(Step(f"gsm8k-readout-laser-{m}", _interp("laser-sweep", "--model", f"embedded:{m}", "--task", f"gsm8k:{GSM8K_TEST}", "--n", "32",
                                               "--layers", layers, "--matrices", "mlp_in,mlp_out", "--rhos", "0.1,0.01",
                                               "--select-frac", "0.5", "--select-by", "logp_answer_full", "--batch-size", "8",
                                               "--device", "cpu", "--out", f"results/gsm8k/readout-laser-{m}"),
           (f"gsm8k/readout-laser-{m}",)) for m, layers in zip(MODELS, ("20,22,24,26,28", "last-third"))),
    *(Step(f"gsm8k-readout-eval-{m}", _interp("eval", "--model", f"embedded:{m}", "--task", f"gsm8k:{GSM8K_TEST}", "--n", "200",
                                              "--laser", edit, "--batch-size", "8", "--device", "cpu",
                                              "--out", f"results/gsm8k/readout-eval-{m}"), (f"gsm8k/readout-eval-{m}",))
      for m, edit in zip(MODELS, GSM8K_EDITS)),
    *(Step(f"gsm8k-{m}", _interp("gsm8k", "--model", f"embedded:{m}", *GSM8K, "--n", "200", "--laser", edit,
                                 "--out", f"results/gsm8k/{m}"), (f"gsm8k/{m}",)) for m, edit in zip(MODELS, GSM8K_EDITS)),
)


def _flat(value, prefix: str = "") -> dict[str, float | str]:
    """Every number and string of a JSON value, by its path (``heldout.change.delta_p_the``)."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flat(item, f"{prefix}{key}.").items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _flat(item, f"{prefix}{i}.").items()}
    if isinstance(value, bool) or value is None:
        return {prefix.rstrip("."): str(value)}
    return {prefix.rstrip("."): value}


def read_numbers(path: Path) -> dict[str, float | str]:
    """The values of a result file by key (json, jsonl, parquet), without the keys of :data:`SKIP_KEYS`."""
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        data = _flat(json.loads(frame.to_json(orient="records")))
    elif path.suffix == ".jsonl":
        data = _flat([json.loads(line) for line in path.read_text().splitlines() if line.strip()])
    else:
        data = _flat(json.loads(path.read_text()))
    return {k: v for k, v in data.items() if not any(part.endswith(SKIP_KEYS) for part in k.split("."))}


def compare(got: dict, want: dict, rtol: float, atol: float = 1e-9) -> tuple[list[str], float]:
    """(the keys that differ, the largest relative difference of the numbers both have)."""
    bad, worst = [], 0.0
    for key in sorted(set(got) | set(want)):
        if key not in got or key not in want:
            bad.append(f"{key} {'missing' if key not in got else 'new'}")
            continue
        a, b = got[key], want[key]
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            if math.isnan(a) and math.isnan(b):
                continue
            diff = abs(a - b) / max(abs(b), 1e-12) if a != b else 0.0
            worst = max(worst, diff)
            if not math.isclose(a, b, rel_tol=rtol, abs_tol=atol):
                bad.append(f"{key} {a!r} vs {b!r}")
        elif a != b:
            bad.append(f"{key} {a!r} vs {b!r}")
    return bad, worst


def _command(step: Step, out: Path, tmp: Path, model: str) -> list[str]:
    argv = [a.format(out=out, tmp=tmp, model=model) for a in step.argv]
    if argv[0] == "interp":
        return [sys.executable, "-m", "interp.cli", *argv[1:]]
    return [sys.executable, *argv[1:]]


def run_step(step: Step, out: Path, tmp: Path, model: str, log_dir: Path, *, echo: bool = False) -> float:
    """Run one step (output to ``log_dir/NAME.log``); its wall time in seconds. Exit 1 naming the log when it fails.

    ``echo``: print what the command printed when it ends (the full tier: results READMEs quote it).
    """
    argv = _command(step, out, tmp, model)
    print(f"[{step.name}] {' '.join(step.argv)}", flush=True)
    t0 = time.perf_counter()
    log = log_dir / f"{step.name}.log"
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), "PYTHONPATH": str(REPO)}
    with log.open("w") as f:
        if step.stdout is None:
            rc = subprocess.run(argv, cwd=REPO, stdout=f, stderr=subprocess.STDOUT, env=env).returncode
        else:
            with Path(step.stdout.format(out=out, tmp=tmp, model=model)).open("w") as target:
                rc = subprocess.run(argv, cwd=REPO, stdout=target, stderr=f, env=env).returncode
    seconds = time.perf_counter() - t0
    if echo:
        print(_printed(log.read_bytes().decode(errors="replace")), flush=True)
    if rc != 0:
        tail = log.read_text().strip().splitlines()[-1:] or ["(no output)"]
        print(f"error: {step.name} exited {rc} after {seconds:.0f} s: {tail[0]} (full output: {log})", file=sys.stderr)
        sys.exit(1)
    print(f"[{step.name}] done in {seconds:.0f} s", flush=True)
    return seconds


def _printed(text: str) -> str:
    """A log as a terminal would leave it: of each line redrawn with carriage returns (progress
    bars), the last drawing."""
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.rstrip().split("\n"))


def _select(steps: tuple[Step, ...], only: str | None, parser: argparse.ArgumentParser) -> list[Step]:
    if not only:
        return list(steps)
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in {s.name for s in steps}]
    if unknown:
        parser.error(f"unknown step(s) {', '.join(unknown)}; choose from {', '.join(s.name for s in steps)}")
    return [s for s in steps if s.name in names]


@dataclass
class QuickReport:
    rows: list[dict] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(r["differing"] for r in self.rows)


def quick(steps: list[Step], out: Path, reference: Path, model: str, rtol: float, atol: float, log_dir: Path) -> QuickReport:
    """Run the quick steps into ``out`` and compare each compared file with the same file under ``reference``."""
    report = QuickReport()
    for step in steps:
        seconds = run_step(step, out, log_dir, model, log_dir)
        for name in step.compare:
            want_path = reference / name
            if out.resolve() == reference.resolve():
                report.rows.append({"step": step.name, "file": name, "seconds": seconds, "differing": 0, "max_rel_diff": 0.0,
                                    "first": "written"})
                continue
            if not want_path.is_file():
                report.rows.append({"step": step.name, "file": name, "seconds": seconds, "differing": 1, "max_rel_diff": math.nan,
                                    "first": f"no committed {want_path}; run with --write"})
                continue
            bad, worst = compare(read_numbers(out / name), read_numbers(want_path), rtol, atol)
            report.rows.append({"step": step.name, "file": name, "seconds": seconds, "differing": len(bad), "max_rel_diff": worst,
                                "first": bad[0] if bad else ""})
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tier", choices=("quick", "full"))
    parser.add_argument("--only", default=None, help="comma-separated step names (default: every step of the tier)")
    parser.add_argument("--list", action="store_true", help="print the tier's commands and stop")
    parser.add_argument("--write", action="store_true", help="quick: write results/quick/ instead of comparing with it")
    parser.add_argument("--replace", action="store_true", help="full: delete each step's target folders first (a fresh run)")
    parser.add_argument("--model", default="embedded:smollm2-135m", help="quick: the model of the model steps (smoke tests: a tiny one)")
    parser.add_argument("--out", type=Path, default=None, help="quick: where the runs go (default: a temporary folder)")
    parser.add_argument("--reference", type=Path, default=QUICK_DIR, help="quick: the committed runs compared with")
    parser.add_argument("--rtol", type=float, default=2e-3, help="quick: relative tolerance of a number (default 2e-3: machines differ)")
    parser.add_argument("--atol", type=float, default=1e-5, help="quick: absolute tolerance of a number (default 1e-5)")
    args = parser.parse_args(argv)
    steps = _select(QUICK if args.tier == "quick" else FULL, args.only, parser)
    if args.list:
        for step in steps:
            print(f"{step.name}: {' '.join(step.argv)}")
        return
    with tempfile.TemporaryDirectory(prefix="interp-reproduce-") as scratch:
        tmp = Path(scratch)
        if args.tier == "full":
            for step in steps:
                if args.replace:
                    for target in step.targets:
                        shutil.rmtree(REPO / RESULTS / target, ignore_errors=True)
                run_step(step, REPO / RESULTS, tmp, args.model, tmp, echo=True)
            return
        out = args.reference if args.write else (args.out or tmp / "quick")
        if args.write:
            for step in steps:
                for target in step.targets:
                    shutil.rmtree(out / target, ignore_errors=True)
        out.mkdir(parents=True, exist_ok=True)
        report = quick(steps, out, args.reference, args.model, args.rtol, args.atol, tmp if args.out is None else out)
    frame = pd.DataFrame(report.rows)
    print(frame.to_string(index=False, float_format=lambda x: f"{x:.2g}"))
    total = frame.drop_duplicates("step")["seconds"].sum()
    if args.write:
        print(f"wrote {out} in {total:.0f} s")
    elif report.failed:
        print(f"quick tier: numbers differ from {args.reference} (in {total:.0f} s)", file=sys.stderr)
        sys.exit(1)
    else:
        print(f"quick tier: every number matches {args.reference} within rtol {args.rtol:g}, atol {args.atol:g} (in {total:.0f} s)")


if __name__ == "__main__":
    main(sys.argv[1:])
