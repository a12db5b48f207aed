"""A conversation asked at a person's pace, in a fresh process: FIRST seconds after
the chat is ready (the banner: reading it, typing) before the first question, NEXT
seconds before each follow-up (reading the answer, typing). Prints each answer's
seconds, from the question to the end of the answer, and the rewrite's share; what is
read ahead in those pauses decides them.

    python bench/paced_chat.py --store /tmp/paced 8 5
    python bench/paced_chat.py --store /tmp/paced-nq --docs DIR 8 5 --ask "who ..."

--cold first removes the model's readings kept on disk (``qa.llm.inprocess.snapshot_dir``), as on
the first chat after installing qa.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from qa import api
from qa.dialogue import Conversation
from qa.llm.inprocess import snapshot_dir

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
    parser.add_argument("--docs", type=Path, default=ROOT / "seeds")
    parser.add_argument("--ask", nargs="+", default=QUESTIONS, help="the questions in turn")
    parser.add_argument("--cold", action="store_true", help="forget the kept readings first")
    args = parser.parse_args()
    if args.cold:
        shutil.rmtree(snapshot_dir(), ignore_errors=True)
    runner = api.pipeline(api.configure(docs=args.docs, store=args.store))
    runner.refresh()
    chat = Conversation(runner)
    time.sleep(args.first)
    for number, question in enumerate(args.ask):
        if number:
            time.sleep(args.next)
        answer = chat.ask(question)
        row = {
            "question": question,
            "answer": answer.answer,
            "total_s": round(answer.timings.total_s, 2),
            "rewrite_s": round(answer.timings.rewrite_s, 2),
        }
        print(json.dumps(row, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
