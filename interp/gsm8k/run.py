"""``interp gsm8k``: few-shot chain-of-thought accuracy on GSM8K by greedy generation, with edits.

    DIR/config.json            the :class:`GSM8KRun` config, the model, the exemplars and the few-shot prefix
    DIR/prompts.jsonl          the exact prompt of every problem: {"id", "prompt", "n_prompt_tokens"}
    DIR/results.parquet        one row per (edit, problem): id, question, gold, generation, pred, correct,
                               n_generated_tokens, plus edit, finish (stop/eos/length), n_prompt_tokens
    DIR/summary.json           n, accuracy, ci_low, ci_high (Wilson 95%), tokens_per_s, edits (see below)
    DIR/summary.parquet        (several configs) one row per edit, on the same problems
    DIR/accuracy_by_edit.png   (several configs) accuracy per edit with its interval
    DIR/harness.json           (--check-harness) lm-eval's gsm8k_cot on the same model and problems
    DIR/parts/<edit>/part-N.{json,parquet}  finished batches; a killed run started again with the same
                               options skips the problems they hold (``--n``, ``--batch-size`` and
                               ``--device`` may change: a larger ``--n`` generates only the new problems)

The folder is a :class:`~interp.store.RunStore` (command ``gsm8k``): it is resumed when the
defining options (all but ``--out``, ``--n``, ``--batch-size``, ``--device``, ``--check-harness``
and the edits), the few-shot prefix and the content of the input files (``--data``,
``--train-data``, ``--lm-text``) are the same; anything else is refused naming the first
difference. A batch whose part cannot be read back is deleted with a warning and generated again.

A finished run started again with other edits (``--laser``, ``--edit``, ``--laser-grid`` and its
``--layers/--matrices/--rhos``) generates only the configs it does not hold yet: the rows of
``results.parquet`` count as done, like the parts (which a committed result folder leaves out).
So the baseline of a 200-problem run is generated once, however many edits are added later.

Configs: the unedited model alone, or the baseline plus one config per ``--laser``/``--edit``
(each edit on its own, not composed) plus, with ``--laser-grid``, every
``--layers x --matrices x --rhos`` LASER edit. ``summary.json`` holds the numbers of the only
config, or, with edits, those of the requested edit when there is exactly one (the baseline's
under ``"baseline"``), and a ``"configs"`` list whenever there are several.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from tqdm.auto import tqdm

from interp.edits.apply import apply_edits, check_edits
from interp.edits.grid import DEFAULT_MATRICES, DEFAULT_RHOS, Grid, LayerSpec, check_grid
from interp.edits.means import ablation_means, needs_means
from interp.edits.spec import Edit, edits_label
from interp.edits.svd_cache import SVDCache
from interp.errors import UsageError, check_positive, check_seed
from interp.generate import GenerateConfig, Generator, plan_batches, split_common_prefix
from interp.gsm8k.summary import summarize
from interp.io import config_from_dict, existing_file, output_dir, to_jsonable, write_json, write_parquet, write_text
from interp.models.loading import HookedModel, check_context, load_model
from interp.models.spec import DEFAULT_SPEC, ModelSpec, declared_n_layers
from interp.resources import check_time
from interp.store import RunDefinition, RunStore
from interp.tasks import gsm8k_readout as gsm
from interp.tasks.base import warn_fewer_prompts

log = logging.getLogger(__name__)

RESULT_COLUMNS = ("id", "question", "gold", "generation", "pred", "correct", "n_generated_tokens")
# options a resumed run may change: they do not change what is generated for a problem
# (``n`` only adds or drops problems; the few-shot prefix is checked to be the same)
# (edits only add or drop configs: each config's rows are kept apart, by its edit label)
#: the options naming input files, and what each must hold
_INPUT_FILES = {"data": "a GSM8K jsonl", "train_data": "a GSM8K jsonl", "lm_text": "a text file"}
_RESUMABLE_CHANGES = {"out", "n", "batch_size", "device", "check_harness", "edits", "laser_grid", "layers", "matrices", "rhos"}


@dataclass(frozen=True)
class GSM8KRun:
    """Everything that defines one ``interp gsm8k`` run (written to ``config.json``)."""

    out: str
    model: ModelSpec = DEFAULT_SPEC  # with its checkpoint (--checkpoint) folded in
    n: int | None = None  # the first n test problems (None: all)
    seed: int = 0  # draws the exemplars with --exemplars train
    data: str | None = None  # GSM8K jsonl of the evaluated split (None: hub openai/gsm8k test)
    train_data: str | None = None  # exemplar pool for --exemplars train (None: train.jsonl next to data, else hub)
    n_shot: int = gsm.MAX_SHOTS
    exemplars: str = "wei"
    edits: tuple[Edit, ...] = ()  # one config per edit (not composed)
    laser_grid: bool = False
    layers: LayerSpec = LayerSpec("all")
    matrices: tuple[str, ...] = DEFAULT_MATRICES
    rhos: tuple[float, ...] = DEFAULT_RHOS
    max_new_tokens: int = 256
    batch_size: int = 8
    device: str = "auto"
    lm_text: str | None = None  # reference text for mean edits
    check_harness: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.model, ModelSpec):
            raise UsageError(f"GSM8KRun.model must be a ModelSpec (ModelSpec.parse('...')), got {type(self.model).__name__}")
        if not all(isinstance(e, Edit) for e in self.edits):
            raise UsageError("GSM8KRun.edits must be parsed edits (interp.edits.spec.parse_edits)")
        check_positive(self.n, "--n")
        check_seed(self.seed)
        if self.exemplars not in gsm.EXEMPLAR_SOURCES:
            raise UsageError(f"--exemplars must be one of {', '.join(gsm.EXEMPLAR_SOURCES)}, got {self.exemplars!r}")
        if self.n_shot < 0:
            raise UsageError(f"--n-shot must be >= 0, got {self.n_shot}")
        if self.exemplars == "wei" and self.n_shot > gsm.MAX_SHOTS:
            raise UsageError(
                f"--n-shot {self.n_shot}: Wei et al. give {gsm.MAX_SHOTS} exemplars; use at most {gsm.MAX_SHOTS} or --exemplars train"
            )
        GenerateConfig(max_new_tokens=self.max_new_tokens, batch_size=self.batch_size)  # validates both
        if self.laser_grid:
            check_grid(self.layers, self.matrices, self.rhos)
        if self.check_harness and self.exemplars != "wei":
            raise UsageError("--check-harness compares with lm-eval's gsm8k_cot, which uses the Wei et al. exemplars: use --exemplars wei")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> GSM8KRun:
        """Back from ``config.json`` (also a folder written when the model was a string with a separate ``checkpoint``)."""
        values = dict(values)
        if isinstance(values.get("model"), str):
            values["model"] = ModelSpec.parse(values["model"], values.get("checkpoint")).to_json_value()
        return config_from_dict(cls, values)


@dataclass(frozen=True)
class Prompts:
    """The problems and their prompts as the model sees them."""

    problems: tuple[gsm.Problem, ...]
    few_shot: gsm.FewShotPrompt
    prefix_ids: tuple[int, ...]
    suffix_ids: tuple[tuple[int, ...], ...]

    def n_tokens(self, i: int) -> int:
        return len(self.prefix_ids) + len(self.suffix_ids[i])


def load_problems(config: GSM8KRun) -> tuple[list[gsm.Problem], tuple[gsm.Exemplar, ...]]:
    """The first ``n`` problems of the evaluated split and the exemplars (no model needed)."""
    problems = gsm.load_split(config.data, "test")
    if config.n is not None:
        warn_fewer_prompts("gsm8k", config.n, min(config.n, len(problems)), f"the test split has {len(problems)} problems")
        problems = problems[: config.n]
    questions = [p.question for p in problems]
    train = None
    if config.exemplars == "train":
        train_source = config.train_data or gsm.default_train_path(config.data)
        train = gsm.load_split(train_source, "train")
    exemplars = gsm.choose_exemplars(config.exemplars, config.n_shot, questions, seed=config.seed, train=train)
    return problems, exemplars


def build_prompts(model: HookedModel, problems: list[gsm.Problem], exemplars: tuple[gsm.Exemplar, ...], max_new_tokens: int) -> Prompts:
    """Tokenize every whole prompt (with the model's BOS policy, as a harness does), split off the
    tokens all prompts share (the prefix whose cache is computed once); check the context length."""
    few_shot = gsm.FewShotPrompt(exemplars)
    full = [model.tokenizer.encode_prompt(few_shot.prompt(p.question)) for p in problems]
    prefix_ids, suffix_ids = split_common_prefix(full)
    check_context(
        model, [len(ids) for ids in full], label=lambda i: f"the prompt of problem {problems[i].id}",
        reserve=max_new_tokens, reserve_label="--max-new-tokens",
        fix=f"use fewer shots (--n-shot {max(0, len(exemplars) - 1)} or less) or a smaller --max-new-tokens",
    )
    return Prompts(tuple(problems), few_shot, prefix_ids, suffix_ids)


def edit_configs(config: GSM8KRun, model: HookedModel) -> list[tuple[Edit, ...]]:
    """The configs to run: the baseline, one per requested edit, and the LASER grid."""
    configs: list[tuple[Edit, ...]] = [()]
    configs += [(e,) for e in config.edits]
    if config.laser_grid:
        layers = config.layers.resolve(model.n_layers)
        configs += Grid(layers=layers, matrices=config.matrices, rhos=config.rhos).configs()
    checked = [check_edits(model, edits) for edits in configs]  # as they run (a clipped rank relabelled)
    return list(dict.fromkeys(checked))


def _slug(label: str) -> str:
    return re.sub(r"[^\w.+-]", "_", label)


COMMAND = "gsm8k"
#: how the user names each defining field and input file
FIELD_NAMES = {
    **{f.name: "--" + f.name.replace("_", "-") for f in dataclasses.fields(GSM8KRun)},
    "prefix_sha256": "the few-shot prefix (with --exemplars train it follows --n and --seed)",
}


def defining_fields(config: GSM8KRun, prefix: str | None) -> dict[str, Any]:
    """What a resumed run must repeat: the options that change what is generated for a problem
    (not the input files' paths: their content is compared) and the few-shot ``prefix`` (by sha256)."""
    values = to_jsonable(config)
    defining = {k: v for k, v in values.items() if k not in _RESUMABLE_CHANGES and k not in _INPUT_FILES}
    defining["prefix_sha256"] = None if prefix is None else hashlib.sha256(prefix.encode("utf-8")).hexdigest()
    return defining


def _input_files(config: GSM8KRun) -> dict[str, Path]:
    return {name: Path(value).expanduser() for name in _INPUT_FILES if (value := getattr(config, name)) is not None}


def _legacy(data: dict[str, Any]) -> RunDefinition | None:
    """A ``config.json`` written before the run-folder store: the flat config (input files by path, not compared)."""
    if "format" in data or not {"n_shot", "exemplars", "max_new_tokens"} <= set(data):
        return None
    try:
        config = GSM8KRun.from_dict(data)
    except (UsageError, TypeError, ValueError, KeyError):
        return None
    return RunDefinition(COMMAND, defining_fields(config, data.get("prefix")), dict.fromkeys(_input_files(config)), data)


def run_store(out: str | Path) -> RunStore:
    """The run folder of ``interp gsm8k`` at ``out``."""
    return RunStore(out, command=COMMAND, field_names=FIELD_NAMES, legacy=_legacy)


def _part_of_its_edit(name: str, meta: dict[str, Any]) -> str | None:
    """A batch's part lies in its edit's folder (the json names the edit)."""
    edit = meta.get("edit")
    if not isinstance(edit, str) or _slug(edit) != name.split("/")[0]:
        return f"{name}.json does not name the edit of its folder"
    return None


def _done_rows(store: RunStore, label: str, previous: pd.DataFrame | None) -> tuple[list[pd.DataFrame], set[int]]:
    """The rows of a config already generated: its parts, then its rows of the previous
    ``results.parquet`` not in a part (``previous``, this config's rows only)."""
    frames = [store.read_part(name) for name in store.part_names(_slug(label))]
    done = {int(i) for f in frames for i in f["id"]}
    if previous is not None:
        rest = previous[~previous["id"].isin(done)]
        if len(rest):
            frames.insert(0, rest.reset_index(drop=True))
            done |= {int(i) for i in rest["id"]}
    return frames, done


#: what a config's summary reports about how its edits ran (recorded in each batch's part)
INFO_KEYS: tuple[str, ...] = ("n_matrices_edited", "n_hooks", "backend")


def _recorded_info(store: RunStore, label: str) -> dict[str, Any]:
    """What the latest batch of a config recorded about its edits (so a config found finished is reported alike)."""
    for name in reversed(store.part_names(_slug(label))):
        info = store.read_meta(name).get("info")
        if isinstance(info, dict):
            return info
    return {}


def _previous_results(out: Path) -> pd.DataFrame | None:
    """The ``results.parquet`` a previous run of this folder wrote (None when absent or unreadable)."""
    path = out / "results.parquet"
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path)
    except Exception as err:  # noqa: BLE001 - a damaged table only means regenerating its rows
        log.warning("cannot read %s (%s); its rows will be generated again", path, err)
        return None


def _batch_rows(prompts: Prompts, indices: list[int], generations, label: str, part: int, wall: float) -> pd.DataFrame:
    rows = []
    for i, gen in zip(indices, generations):
        problem = prompts.problems[i]
        pred = gsm.extract_answer(gen.text)
        rows.append({
            "id": problem.id,
            "question": problem.question,
            "gold": problem.gold,
            "generation": gen.text,
            "pred": pred,
            "correct": pred == problem.gold,
            "n_generated_tokens": gen.n_tokens,
            "finish": gen.finish,
            "n_prompt_tokens": prompts.n_tokens(i),
            "edit": label,
            "batch": part,
            "batch_wall_s": wall,
        })
    return pd.DataFrame(rows).astype({"pred": "string"})


def generate_config(
    model: HookedModel,
    prompts: Prompts,
    edits: tuple[Edit, ...],
    store: RunStore,
    gen_config: GenerateConfig,
    *,
    means=None,
    svd_cache: SVDCache | None = None,
    seed: int = 0,
    bar: tqdm | None = None,
    previous: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Generate every problem not yet in ``store``'s parts of this config (nor in ``previous``, its rows
    of an earlier ``results.parquet``) under ``edits``, one part per batch; all rows of this config, in problem order."""
    label = edits_label(edits)
    frames, done = _done_rows(store, label, previous)
    todo = [i for i, p in enumerate(prompts.problems) if p.id not in done]
    if bar is not None:
        bar.update(len(prompts.problems) - len(todo))
    info = _recorded_info(store, label)
    # a config whose rows all come from results.parquet (no parts: a committed folder, or parts
    # removed) has no recorded info: the edits are applied to read it, so the summary is the same
    if todo or set(info) != set(INFO_KEYS):
        with apply_edits(model, edits, means=means, svd_cache=svd_cache, seed=seed) as report:
            generator = Generator(model, prompts.prefix_ids, gen_config)
            info = dict(zip(INFO_KEYS, (report.n_matrices_edited, report.n_hooks, generator.backend), strict=True))
            part = 1 + max((int(f["batch"].max()) for f in frames), default=-1)  # after every batch held
            batches = plan_batches([len(prompts.suffix_ids[i]) for i in todo], gen_config.batch_size)
            for batch in batches:
                indices = [todo[j] for j in batch]
                start = time.perf_counter()
                output = generator.run_batch([prompts.suffix_ids[i] for i in indices])
                wall = time.perf_counter() - start
                frame = _batch_rows(prompts, indices, output.generations, label, part, wall)
                store.write_part(f"{_slug(label)}/part-{part:05d}", frame, {"edit": label, "batch": part, "n_rows": len(frame), "info": info})
                frames.append(frame)
                part += 1
                if bar is not None:
                    bar.update(len(indices))
    frame = pd.concat(frames, ignore_index=True)
    order = {p.id: k for k, p in enumerate(prompts.problems)}
    frame = frame[frame["id"].isin(order)].sort_values("id", key=lambda s: s.map(order)).reset_index(drop=True)
    return frame, info


def _config_summary(frame: pd.DataFrame, edits: tuple[Edit, ...], info: dict[str, Any]) -> dict[str, Any]:
    first = edits[0] if edits else None
    return {
        "edit": edits_label(edits),
        "edits": [e.label for e in edits],
        "layer": first.layer if first else -1,
        "matrix": first.matrix if first else "",
        "kind": first.kind if first else "baseline",
        "rho": first.rho if first and first.rho is not None else float("nan"),
        **summarize(frame),
        **info,
    }


def _means(model: HookedModel, configs: list[tuple[Edit, ...]], lm_text: str | None):
    from interp.scoring.lm_loss import lm_batches, reference_contexts

    edits = [e for c in configs for e in c]
    if not needs_means(edits):
        return None
    reference = reference_contexts(model, lm_text)
    log.info("mean edits: sublayer means over %s", reference.source)
    return ablation_means(model, edits, lm_batches(model, reference))


def run_gsm8k(config: GSM8KRun, *, force: bool = False) -> dict[str, Any]:
    """Generate, score and write the run folder (see the module doc); returns summary.json's content.

    The output folder is checked writable before the data are read, and locked (one writer) and
    checked resumable (see the module doc) before the model is loaded. A run estimated to take
    over a day (:func:`generation_seconds`) is refused before any generation unless ``force``.
    """
    _check_inputs(config)
    _check_layers(config)
    store = run_store(config.out)
    store.check_folder()  # a model folder, another command's run, other files: refused before anything is written
    output_dir(store.root)
    problems, exemplars = load_problems(config)  # data errors before the model loads
    defining = defining_fields(config, gsm.FewShotPrompt(exemplars).prefix)
    with store.open(defining, _input_files(config), to_jsonable(config)):
        return _run_gsm8k(config, store, problems, exemplars, force=force)


def seconds_per_step(model: HookedModel, batch_size: int) -> float:
    """The time of one forward of ``batch_size`` one-token rows on the model's device: a generation
    step costs at least that (a timed step after a warm-up one)."""
    ids = torch.zeros((batch_size, 1), dtype=torch.long, device=model.device)
    with torch.no_grad():
        model.raw_model(ids)
        if ids.device.type == "cuda":
            torch.cuda.synchronize(ids.device)
        t0 = time.perf_counter()
        model.raw_model(ids)
        if ids.device.type == "cuda":
            torch.cuda.synchronize(ids.device)
    return time.perf_counter() - t0


def generation_seconds(model: HookedModel, n_configs: int, n_problems: int, config: GSM8KRun) -> float:
    """An estimate of the run's generation time: configs x batches x --max-new-tokens steps, each at
    the time of one measured step (generations stopping early take less)."""
    n_batches = -(-n_problems // config.batch_size)
    return n_configs * n_batches * config.max_new_tokens * seconds_per_step(model, min(config.batch_size, n_problems))


def _check_layers(config: GSM8KRun) -> None:
    """Layers out of range refused before the model loads, when its folder declares its layer count
    (otherwise :func:`edit_configs` checks them right after loading, before any generation)."""
    n_layers = declared_n_layers(config.model)
    if n_layers is None:
        return
    for edit in config.edits:
        if not 0 <= edit.layer < n_layers:
            raise UsageError(f"{edit.label}: layer {edit.layer} is out of range: {config.model.display} has layers 0..{n_layers - 1}")
    if config.laser_grid:
        config.layers.resolve(n_layers)


def _check_inputs(config: GSM8KRun) -> None:
    """The input files exist (checked when the run starts, so a saved config loads on any machine)."""
    for name, expected in _INPUT_FILES.items():
        value = getattr(config, name)
        if value is not None:
            existing_file(value, "--" + name.replace("_", "-"), expected)


def _run_gsm8k(
    config: GSM8KRun, store: RunStore, problems: list[gsm.Problem], exemplars: tuple[gsm.Exemplar, ...], *, force: bool = False
) -> dict[str, Any]:
    out = store.root
    store.drop_damaged_parts(_part_of_its_edit)  # each is generated again
    model = load_model(config.model, device=config.device)
    store.ran_on(model.device, model.dtype)
    prompts = build_prompts(model, problems, exemplars, config.max_new_tokens)
    configs = edit_configs(config, model)
    check_time(
        generation_seconds(model, len(configs), len(problems), config),
        f"{len(configs)} configs x {len(problems)} problems ({len(configs) * len(problems):,} generations of up to {config.max_new_tokens} tokens)",
        force=force, fix="use fewer --layers, --matrices or --rhos, a smaller --n or --max-new-tokens",
    )
    means = _means(model, configs, config.lm_text)
    gen_config = GenerateConfig(max_new_tokens=config.max_new_tokens, batch_size=config.batch_size, stop=(gsm.STOP,))

    store.record(
        model_display=model.spec.display,
        n_problems=len(problems),
        configs=[edits_label(c) for c in configs],
        exemplar_sources=[e.source for e in exemplars],
        n_prefix_tokens=len(prompts.prefix_ids),
        prefix=prompts.few_shot.prefix,
    )
    write_text(out / "prompts.jsonl", "".join(
        json.dumps({"id": p.id, "prompt": prompts.few_shot.prompt(p.question), "n_prompt_tokens": prompts.n_tokens(i)}) + "\n"
        for i, p in enumerate(problems)
    ))

    svd_cache = SVDCache() if len(configs) > 2 else None
    previous = _previous_results(out)
    frames, summaries = [], []
    with tqdm(total=len(problems) * len(configs), desc="gsm8k", unit="problem", dynamic_ncols=True) as bar:
        for edits in configs:
            label = edits_label(edits)
            bar.set_postfix_str(label)
            frame, info = generate_config(
                model, prompts, edits, store, gen_config,
                means=means, svd_cache=svd_cache, seed=config.seed, bar=bar,
                previous=None if previous is None else previous[previous["edit"] == label],
            )
            frames.append(frame)
            summaries.append(_config_summary(frame, edits, info))
            log.info("%s: accuracy %.3f [%.3f, %.3f]", label, summaries[-1]["accuracy"], summaries[-1]["ci_low"], summaries[-1]["ci_high"])

    results = pd.concat(frames, ignore_index=True)
    columns = list(RESULT_COLUMNS) + [c for c in results.columns if c not in RESULT_COLUMNS]
    write_parquet(out / "results.parquet", results[columns])
    summary = _summary_json(summaries, model.spec.display)
    if len(configs) > 1:
        from interp.gsm8k.plots import accuracy_by_edit

        table = pd.DataFrame(summaries)
        table["edits"] = table["edits"].map(lambda e: "+".join(e))
        base = summaries[0]["accuracy"]
        table["delta_accuracy"] = table["accuracy"] - base
        write_parquet(out / "summary.parquet", table)
        accuracy_by_edit(table, out / "accuracy_by_edit.png", title=f"{model.spec.display} · GSM8K {config.n_shot}-shot CoT (n={len(problems)})")
    if config.check_harness:
        from interp.gsm8k.harness import run_harness

        harness = run_harness(model, prompts.problems, frames[0], n_shot=config.n_shot,
                              max_new_tokens=config.max_new_tokens, batch_size=config.batch_size)
        write_json(out / "harness.json", harness)
        summary["harness"] = {k: v for k, v in harness.items() if not isinstance(v, (list, dict))}
    write_json(out / "summary.json", summary)
    return summary


def _summary_json(summaries: list[dict[str, Any]], model_display: str) -> dict[str, Any]:
    def brief(s: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in s.items() if k not in ("layer", "matrix", "kind", "rho")}

    base = brief(summaries[0])
    if len(summaries) == 1:
        return {"model": model_display, **base}
    if len(summaries) == 2:
        edited = brief(summaries[1])
        return {
            "model": model_display, **edited, "baseline": base,
            "delta_accuracy": edited["accuracy"] - base["accuracy"], "configs": [base, edited],
        }
    return {"model": model_display, "n": base["n"], "baseline": base, "configs": [brief(s) for s in summaries]}
