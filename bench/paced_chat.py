"""A conversation about the seed article asked at a person's pace, in a fresh process:
FIRST seconds before the first question (reading the banner, typing), NEXT seconds
before each follow-up (reading the answer, typing). Prints each answer's seconds and
the rewrite's share; what is read ahead in those pauses decides them.

    python bench/paced_chat.py --store /tmp/paced 8 5
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from qa import api
from qa.followup import Conversation

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "How much is OpenAI's new Pentagon contract worth?",
    "Who awarded it?",
    "How long does it run?",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("first", type=float, help="seconds before the first question")
    parser.add_argument("next", type=float, help="seconds before each follow-up")
    parser.add_argument("--store", type=Path, required=True)
    args = parser.parse_args()
    runner = api.pipeline(api.configure(docs=ROOT / "seeds", store=args.store))
    runner.refresh()
    chat = Conversation(runner)
    time.sleep(args.first)
    rows = []
    for number, question in enumerate(QUESTIONS):
        if number:
            time.sleep(args.next)
        answer = chat.ask(question)
        rows.append(
            {
                "question": question,
                "answer": answer.answer,
                "total_s": round(answer.timings.total_s, 2),
                "rewrite_s": round(answer.timings.rewrite_s, 2),
            }
        )
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
