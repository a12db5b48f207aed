"""``qa calibrate``: fit abstention to the model in use (``qa.evaluation.calibrate``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qa.cli import resident
from qa.cli.display import err, out, shown, warn
from qa.cli.options import Given

if TYPE_CHECKING:
    from qa.evaluation.evaluate import EvalResult


def calibrate_command(
    file: Annotated[Path, typer.Argument(help="JSONL question set, with unanswerable questions.")],
    *,
    given: Given,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N questions.")] = None,
) -> None:
    """Fit abstention to the model in use: ask a question set with it, record its
    signals, and weigh its answers by that fit from now on. Stopped, it goes on where
    it stopped when run again."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from qa import api
    from qa.evaluation.evaluate import load_questions

    settings = given.settings()
    total = len(load_questions(file)[:limit])
    columns = (
        TextColumn("calibrating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("calibrate", total=total)

        def tick(_: EvalResult) -> None:
            bar.update(task, advance=1)

        try:
            done = api.calibrate(file, settings=settings, limit=limit, on_result=tick, warn=warn)
        except KeyboardInterrupt:
            err.print("stopped: the answers so far are kept; run it again to go on")
            raise typer.Exit(130) from None
    resident.stop_all()  # a resident process weighs by the fit it started with
    kept = f", {done.kept} kept from before" if done.kept else ""
    out.print(
        f"Asked {done.asked} questions{kept}. Threshold {done.model.threshold:.2f}: "
        f"{done.right}/{done.answerable} answered right, "
        f"{done.declined}/{done.unanswerable} unanswerable declined."
    )
    out.print(f"Abstention: {done.how}.")
    out.print(f"Fit written to {shown(str(done.path))}; this model is weighed by it from now on.")
