"""The options the commands share, declared once, and how a command runs with them.

Each shared option sets one ``Settings`` field. ``@with_settings()`` puts them on a
command (after the subcommand, as in ``qa ask "q" --docs d``), builds ``Settings`` from
them in one place, and turns library errors into one line on stderr.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from typer.models import OptionInfo

from qa.cli.display import err, error, warn
from qa.errors import QAError
from qa.settings import PROJECT_CONFIG, Settings

Command = Callable[..., None]


@dataclass(frozen=True)
class Shared:
    """An option shared by the commands: its flag, the Settings field it sets (also the
    parameter's name), the type of its value and its help."""

    flag: str
    field: str
    type: Any
    help: str

    def parameter(self) -> inspect.Parameter:
        """The option as Typer reads it from a signature; left out, it is None."""
        # Typer reads help as Rich markup: "[env: QA_DOCS; ...]" would vanish unescaped.
        option: OptionInfo = typer.Option(self.flag, help=escape(self.help))
        annotated: Any = Annotated  # the type is only known at run time: mypy would refuse it
        annotation = annotated[self.type | None, option]
        return inspect.Parameter(
            self.field, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation
        )


# A new option shared by the commands is one row here (its field must be in Settings).
SHARED = (
    Shared(
        "--docs",
        "docs",
        list[Path],
        "Documents folder (repeatable). [env: QA_DOCS; default: seeds/]",
    ),
    Shared("--store", "store", Path, "Store folder. [env: QA_STORE; default: index/]"),
    Shared(
        "--llm-url",
        "llm_url",
        str,
        "OpenAI-compatible LLM server, e.g. http://127.0.0.1:8080/v1; key from "
        "QA_LLM_API_KEY. [env: QA_LLM_URL; default: the packaged "
        "Qwen2.5-Coder-1.5B-Instruct, in-process]",
    ),
    Shared(
        "--llm-file",
        "llm_file",
        Path,
        "A local GGUF model run in-process instead of the packaged one, prompted in the "
        "chat template its file carries. [env: QA_LLM_FILE]",
    ),
    Shared("--llm-model", "llm_model", str, "Model name for the LLM server. [env: QA_LLM_MODEL]"),
    Shared(
        "--llm-api",
        "llm_api",
        str,
        "chat (chat-tuned models) or completions (base models). [env: QA_LLM_API; default: chat]",
    ),
    Shared(
        "--embed-url",
        "embed_url",
        str,
        "OpenAI-compatible embeddings server, e.g. http://gpu-box:8080/v1; key from "
        "QA_EMBED_API_KEY. [env: QA_EMBED_URL; default: packaged all-MiniLM-L6-v2, "
        "in-process]",
    ),
    Shared(
        "--embed-model",
        "embed_model",
        str,
        "Model name for the embeddings server. [env: QA_EMBED_MODEL; default: all-MiniLM-L6-v2]",
    ),
    Shared(
        "--reader",
        "reader",
        str,
        "combined (the extractive reader checked against the LLM), extractive "
        "(the reader alone) or llm (the LLM alone). [env: QA_READER; default: combined]",
    ),
    Shared(
        "--chroma-url",
        "chroma_url",
        str,
        "Chroma server, e.g. http://127.0.0.1:8000. [env: QA_CHROMA_URL; "
        "default: Chroma in the store folder]",
    ),
)


@dataclass
class RunState:
    """What the root callback was given (``qa --debug ...``), kept in the Typer
    context's ``obj`` for the commands of the same run."""

    debug: bool = False


def debugging(ctx: typer.Context | None) -> bool:
    """Whether this run asked for tracebacks (false before the root callback ran)."""
    state = ctx.find_root().obj if ctx else None
    return isinstance(state, RunState) and state.debug


@dataclass(frozen=True)
class Given:
    """What one command line gave: the shared options set (empty ones dropped, so the
    environment, qa.toml or the default decides) and ``--debug``."""

    flags: dict[str, Any]
    debug: bool = False

    def settings(self, **overrides: Any) -> Settings:
        """The effective settings; an override that is set wins over its flag."""
        return settings_from({**self.flags, **{k: v for k, v in overrides.items() if v}})


def settings_from(flags: dict[str, Any]) -> Settings:
    """Settings from the given flags, or "bad settings: ..."; names each server that a
    project qa.toml sends document text to, as a prepared folder may not be trusted."""
    try:
        settings = Settings(**flags)
    except ValueError as exc:
        raise QAError(f"bad settings: {_first_error(exc)}") from exc
    for name, url in Settings.servers_from_project(**flags).items():
        warn(f"{PROJECT_CONFIG.resolve()} sets {name} = {url}: document text goes to that server")
    return settings


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}"
    return str(exc).splitlines()[0]


def say_error(exc: QAError, debug: bool) -> None:
    """A library error as one line on stderr; with ``--debug``, raised for its traceback."""
    if debug:
        raise exc
    error(str(exc))


@contextmanager
def clean_errors(debug: bool) -> Iterator[None]:
    """Turn library errors into one line on stderr and a non-zero exit."""
    try:
        yield
    except QAError as exc:
        say_error(exc, debug)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None


def with_settings(only: tuple[str, ...] | None = None) -> Callable[[Command], Command]:
    """Give a command the shared options (those whose fields ``only`` names, or all) in
    place of its keyword-only ``given: Given`` parameter, and run it with ``given``
    inside ``clean_errors``. Typer reads the rewritten ``__signature__``."""
    fields = {option.field for option in SHARED}
    if only is not None and not fields.issuperset(only):
        raise ValueError(f"not shared options: {sorted(set(only) - fields)}")
    options = [option for option in SHARED if only is None or option.field in only]
    context = inspect.Parameter(
        "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
    )

    def decorate(command: Command) -> Command:
        signature = inspect.signature(command, eval_str=True)
        if "given" not in signature.parameters:
            raise TypeError(f"{command.__name__} has no `given` parameter for the options")
        parameters = [context]
        for parameter in signature.parameters.values():
            given = parameter.name == "given"
            parameters += [option.parameter() for option in options] if given else [parameter]

        @functools.wraps(command)
        def run(ctx: typer.Context, **values: Any) -> None:
            flags = {option.field: values.pop(option.field) for option in options}
            given = Given({name: value for name, value in flags.items() if value}, debugging(ctx))
            with clean_errors(given.debug):
                command(given=given, **values)

        run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
        return run

    return decorate
