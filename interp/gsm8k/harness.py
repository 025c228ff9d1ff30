"""Cross-check with lm-eval: its ``gsm8k_cot`` task on the same (unedited) model and problems, offline.

lm-eval loads ``openai/gsm8k`` from the hub; here a task config written to a temporary folder
includes lm-eval's own ``gsm8k-cot.yaml`` (same exemplars, prompt format, stop strings and
filters) and only points its data at a jsonl of exactly the problems of the run. The model is
handed over as the Hugging Face model object (``HFLM(pretrained=...)``) with the run's BOS
policy, inside :func:`interp.generate.backend.generation_forward` so Hugging Face's ``generate``
keeps a working KV cache.

lm-eval reports two extractions: ``strict-match`` (the number after "The answer is", as
written, commas and ``$`` removed before comparing) and ``flexible-extract`` (the last number
in the generation). Ours (:func:`interp.tasks.gsm8k_readout.extract_answer`) takes the number after
"The answer is", else the last number, in a canonical form (``18.00`` == ``18``).
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from interp.errors import UsageError
from interp.generate.backend import generation_forward
from interp.models.loading import HookedModel
from interp.tasks import gsm8k_readout as gsm

log = logging.getLogger(__name__)

TASK = "interp_gsm8k_cot"


def _require_lm_eval():
    try:
        import lm_eval  # noqa: F401
        from lm_eval.models.huggingface import HFLM  # noqa: F401
    except ImportError:
        raise UsageError("--check-harness needs lm-eval: pip install 'interp[harness]' (or pip install lm-eval)") from None
    return lm_eval


def write_task(folder: Path, problems: list[gsm.Problem], max_new_tokens: int) -> Path:
    """A jsonl of ``problems`` and a task yaml that includes lm-eval's gsm8k-cot.yaml but reads that jsonl."""
    lm_eval = _require_lm_eval()
    base = Path(lm_eval.__file__).parent / "tasks" / "gsm8k" / "gsm8k-cot.yaml"
    if not base.is_file():
        raise UsageError(f"this lm-eval ({lm_eval.__version__}) has no tasks/gsm8k/gsm8k-cot.yaml; install lm-eval>=0.4")
    jsonl = folder / "test.jsonl"
    jsonl.write_text(
        "".join(json.dumps({"question": p.question, "answer": f"{p.solution}\n#### {p.gold}"}) + "\n" for p in problems),
        encoding="utf-8",
    )
    yaml_text = "\n".join([
        f"include: {json.dumps(str(base))}",
        f"task: {TASK}",
        "tag: []",
        "dataset_path: json",
        "dataset_name: null",
        "dataset_kwargs:",
        "  data_files:",
        f"    test: {json.dumps(str(jsonl))}",
        "generation_kwargs:",
        "  until: ['Q:', '</s>', '<|im_end|>']",
        "  do_sample: false",
        f"  max_gen_toks: {int(max_new_tokens)}",
        "",
    ])
    (folder / f"{TASK}.yaml").write_text(yaml_text, encoding="utf-8")
    return folder


def run_harness(
    model: HookedModel, problems: Sequence[gsm.Problem], ours: pd.DataFrame, *, n_shot: int, max_new_tokens: int, batch_size: int
) -> dict[str, Any]:
    """lm-eval's accuracies on the run's ``problems`` (its ``--n-shot``, ``--max-new-tokens`` and
    ``--batch-size``), and how its generations compare with ``ours`` (the run's unedited rows)."""
    _require_lm_eval()
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    problems = list(problems)
    with tempfile.TemporaryDirectory(prefix="interp-lm-eval-") as tmp:
        folder = write_task(Path(tmp), problems, max_new_tokens)
        with generation_forward(model) as backend:
            lm = HFLM(
                pretrained=model.raw_model,
                tokenizer=model.tokenizer.tokenizer,
                batch_size=batch_size,
                add_bos_token=model.tokenizer.prepend_bos,
                max_length=int(model.bridge.cfg.n_ctx),
            )
            result = simple_evaluate(
                model=lm,
                tasks=[TASK],
                num_fewshot=n_shot,
                task_manager=TaskManager(include_path=str(folder), include_defaults=False),
                log_samples=True,
                bootstrap_iters=0,
            )
    metrics = result["results"][TASK]
    samples = result["samples"][TASK]
    by_doc: dict[int, dict[str, Any]] = {}
    for s in samples:
        row = by_doc.setdefault(int(s["doc_id"]), {"generation": s["resps"][0][0]})
        row[s["filter"]] = {"pred": s["filtered_resps"][0], "correct": bool(s["exact_match"])}
    ours_by_id = ours.set_index("id")
    per_problem = []
    for doc_id, row in sorted(by_doc.items()):
        problem = problems[doc_id]
        mine = ours_by_id.loc[problem.id]
        per_problem.append({
            "id": problem.id,
            "harness_generation": row["generation"],
            "same_generation": row["generation"].strip() == str(mine["generation"]).strip(),
            "strict_pred": row["strict-match"]["pred"],
            "strict_correct": row["strict-match"]["correct"],
            "flexible_pred": row["flexible-extract"]["pred"],
            "flexible_correct": row["flexible-extract"]["correct"],
            "our_pred_on_harness_generation": gsm.extract_answer(row["generation"]),
            "ours_correct": bool(mine["correct"]),
        })
    table = pd.DataFrame(per_problem)
    ours_on_theirs = (table["our_pred_on_harness_generation"] == [p.gold for p in problems[: len(table)]]).mean()
    return {
        "lm_eval_version": _require_lm_eval().__version__,
        "task": "gsm8k_cot (lm-eval's gsm8k-cot.yaml, data from the run's problems)",
        "backend": backend,
        "n": int(len(table)),
        "strict_match": float(metrics["exact_match,strict-match"]),
        "flexible_extract": float(metrics["exact_match,flexible-extract"]),
        "ours": float(ours["correct"].mean()),
        "our_extraction_on_harness_generations": float(ours_on_theirs),
        "n_same_generation": int(table["same_generation"].sum()),
        "problems": table.to_dict(orient="records"),
    }
