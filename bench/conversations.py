"""Score the follow-up questions of bench/conversations.jsonl with the conversation
(each follow-up asked after its earlier questions, rewritten when it leans on them)
and without it (the follow-up asked alone), at the default settings.

    python bench/conversations.py --squad ../shared/data/squad2-dev-sample/corpus \\
        --work /tmp/conv --out bench/conversations.json

The seed-article conversations run over seeds/, the others over the SQuAD articles.
Each is a ``qa.Conversation``; before a follow-up it pauses TYPING_S, as a user typing
would, in which the next rewrite's prompt is read ahead.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from qa import api
from qa.dialogue import Conversation
from qa.evaluation.evaluate import EvalQuestion, score

ROOT = Path(__file__).resolve().parents[1]
SEED_TITLE = "openai-dod-microsoft"
TYPING_S = 2.0  # a user's pause before a follow-up, in which the next rewrite is read ahead


def run(items: list[EvalQuestion], docs: Path, store: Path, history: bool) -> list[dict]:
    runner = api.pipeline(api.configure(docs=docs, store=store))
    runner.refresh()
    rows = []
    for item in items:
        conversation = Conversation(runner)
        for earlier in item.history if history else []:
            conversation.ask(earlier)
        if history:
            time.sleep(TYPING_S)
        answer = conversation.ask(item.question)
        result = score(item, answer)
        rows.append(
            {
                "id": item.id,
                "question": item.question,
                "standalone": answer.standalone,
                "answer": answer.answer,
                "right": bool(result.correct),
                "answerable": item.answerable,
                "seeds": docs.name == "seeds",
                "total_s": round(answer.timings.total_s, 3),
                "rewrite_s": round(answer.timings.rewrite_s, 3),
            }
        )
        print(f"{item.id} {'ok ' if result.correct else 'BAD'} {answer.standalone or '-'!r} "
              f"-> {answer.answer!r}", flush=True)  # fmt: skip
    return rows


def summary(rows: list[dict]) -> dict[str, float]:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    rewrites = [r["rewrite_s"] for r in rows if r["standalone"]]
    seeds = [r["rewrite_s"] for r in rows if r["standalone"] and r["seeds"]]
    return {
        "follow_ups": len(rows),
        "right": round(sum(r["right"] for r in rows) / len(rows), 4),
        "answer_accuracy": round(sum(r["right"] for r in answerable) / len(answerable), 4),
        "abstention_accuracy": round(sum(r["right"] for r in unanswerable) / len(unanswerable), 4),
        "rewritten": len(rewrites),
        "rewrite_p50_s": round(statistics.median(rewrites), 3) if rewrites else 0.0,
        "seeds_rewrite_p50_s": round(statistics.median(seeds), 3) if seeds else 0.0,
        "answer_p50_s": round(statistics.median(r["total_s"] for r in rows), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, default=ROOT / "bench" / "conversations.jsonl")
    parser.add_argument(
        "--squad", type=Path, help="the SQuAD articles' folder (without: the seed ones only)"
    )
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument(
        "--no-alone", action="store_true", help="skip the follow-ups asked alone (a baseline)"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    lines = args.questions.read_text(encoding="utf-8").splitlines()
    items = [json.loads(line) for line in lines if line.strip()]
    groups = {
        "seeds": ([EvalQuestion(**i) for i in items if i["title"] == SEED_TITLE], ROOT / "seeds"),
    }
    if args.squad:
        groups["squad"] = (
            [EvalQuestion(**i) for i in items if i["title"] != SEED_TITLE],
            args.squad,
        )
    report: dict[str, dict] = {}
    for history in (True,) if args.no_alone else (True, False):
        mode = "with the conversation" if history else "follow-up alone"
        rows = []
        for name, (questions, docs) in groups.items():
            if not questions:
                continue
            print(f"\n{name}, {mode}")
            rows += run(questions, docs, args.work / name, history)
        report[mode] = {"summary": summary(rows), "results": rows}
        print(mode, report[mode]["summary"])
    if args.out:
        args.out.write_text(
            json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )


if __name__ == "__main__":
    main()
