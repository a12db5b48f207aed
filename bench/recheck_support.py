"""Ask the support check again for every candidate of a recorded `qa eval` report, and
write a copy of the report with the new probabilities in place of ``supported``.

A changed check (its prompt, what it is shown) is refitted this way without running
the whole eval again: the candidates and every other signal stay as recorded. An
answered candidate's sentence is its citation; a declined one records no citation, so
its sentence is found again by retrieval (the first retrieved sentence that holds the
candidate). A candidate whose sentence is not found gets no probability, as from a
server without alternatives.

    python bench/recheck_support.py nq.json --docs CORPUS --store STORE --out nq-rechecked.json
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from qa.evaluation.calibrate import checked
from qa.evaluation.evaluate import EvalReport


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--docs", type=Path, required=True)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    os.environ["QA_DOCS"] = str(args.docs)
    os.environ["QA_STORE"] = str(args.store)
    from qa.pipeline import Pipeline
    from qa.settings import Settings

    pipeline = Pipeline(Settings())
    report = EvalReport.model_validate_json(args.report.read_text(encoding="utf-8"))
    started, asked, lost = time.perf_counter(), 0, 0
    for result in report.results:
        signals = checked(result, pipeline.retriever, pipeline.check).signals
        if signals is not None and signals.candidate and not signals.yes_no:
            asked += signals.supported is not None
            lost += signals.supported is None
    args.out.write_text(report.model_dump_json(indent=1), encoding="utf-8")
    spent = time.perf_counter() - started
    print(f"checked {asked}, no sentence or no probability for {lost}, {spent:.0f} s")


if __name__ == "__main__":
    main()
