"""One settings object. Each value comes from the first of: flags (keyword
arguments), ``QA_*`` environment variables, ``qa.toml`` in the working folder,
``qa.toml`` in the user config folder (``~/.config/qa`` on Linux), defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_CONFIG = Path("qa.toml")


def user_config() -> Path:
    """The user's qa.toml (``$XDG_CONFIG_HOME/qa/qa.toml``, or the platform's place)."""
    import typer

    return Path(typer.get_app_dir("qa")) / "qa.toml"


def packaged_prompts() -> Path:
    """The prompt templates: ``qa/prompts`` in an installed wheel (pyproject maps the
    repo's top-level ``prompts/`` there), the repo's ``prompts/`` in a checkout."""
    package = Path(__file__).resolve().parent
    installed = package / "prompts"
    return installed if installed.is_dir() else package.parent / "prompts"


class Settings(BaseSettings):
    """Where the documents and store live, and the knobs of each pipeline step."""

    model_config = SettingsConfigDict(env_prefix="QA_", extra="forbid")

    docs: Annotated[list[Path], NoDecode] = Field(
        default_factory=lambda: [Path("seeds")],
        description="Folders or files that make up the corpus.",
    )
    store: Path = Field(Path("index"), description="Folder of the local Chroma store.")
    prompts: Path = Field(
        default_factory=lambda: packaged_prompts(), description="Folder of prompt templates."
    )
    chunk_chars: int = Field(600, ge=100, description="Target chunk size in characters.")
    max_file_bytes: int = Field(20_000_000, ge=1, description="Larger files are skipped.")
    top_k: int = Field(6, ge=1, description="Chunks kept after hybrid retrieval.")
    reader: Literal["combined", "extractive", "llm"] = Field(
        "combined",
        description="Who reads the evidence: the LLM, checked against the extractive reader "
        "(combined), the extractive reader alone, or the LLM alone.",
    )
    min_confidence: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Least answer confidence; below it qa abstains "
        "(unset: the threshold fitted with the reader's abstention model).",
    )
    check_support: bool = Field(
        True,
        description="Ask the LLM whether the cited sentence answers the question as asked, "
        "when that could change the decision (about 1 s more; off: faster, and fewer "
        "questions whose details the text contradicts are declined).",
    )
    max_answer_tokens: int = Field(48, ge=1, description="Generation limit for the reader.")
    threads: int = Field(max(1, min(4, os.cpu_count() or 1)), ge=1, description="LLM threads.")
    llm_url: str | None = Field(
        None,
        description="OpenAI-compatible server (e.g. http://127.0.0.1:8080/v1); "
        "unset: the packaged Qwen2.5-Coder-1.5B-Instruct, in-process.",
    )
    llm_file: Path | None = Field(
        None,
        description="A local GGUF model run in-process instead of the packaged one, "
        "prompted in the chat template its file carries.",
    )
    llm_model: str = Field("default", description="Model name sent to the LLM server.")
    llm_api: Literal["chat", "completions"] = Field(
        "chat",
        description="The server's endpoint: chat (chat-tuned models) or completions "
        "(base models, which a chat template confuses).",
    )
    llm_api_key: SecretStr | None = Field(
        None, description="API key for the LLM server (set QA_LLM_API_KEY; never shown)."
    )
    llm_timeout: float = Field(
        60.0, gt=0, description="Seconds to wait for the LLM or embeddings server."
    )
    llm_retries: int = Field(
        2, ge=0, description="Retries on connection errors, 429 and 5xx (both servers)."
    )
    embed_url: str | None = Field(
        None,
        description="OpenAI-compatible embeddings server (e.g. http://gpu-box:8080/v1); "
        "unset: the packaged all-MiniLM-L6-v2, in-process.",
    )
    embed_model: str = Field(
        "all-MiniLM-L6-v2", description="Model name sent to the embeddings server."
    )
    embed_api_key: SecretStr | None = Field(
        None,
        description="API key for the embeddings server (set QA_EMBED_API_KEY; never shown).",
    )
    chroma_url: str | None = Field(
        None,
        description="Chroma server (e.g. http://127.0.0.1:8000); "
        "unset: Chroma in the store folder.",
    )
    resident: bool = Field(
        True,
        description="Keep the models loaded in a background process between one-shot "
        "qa ask calls (started by the first, stopped by qa stop or when idle).",
    )
    resident_idle: float = Field(
        300.0, gt=0, description="Seconds a resident process waits for a question, then exits."
    )

    @field_validator("docs", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        if isinstance(value, (str, Path)):
            return [Path(p) for p in str(value).split(os.pathsep) if p]
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, PROJECT_CONFIG),
            TomlConfigSettingsSource(settings_cls, user_config()),
        )

    @classmethod
    def servers_from_project(cls, **overrides: Any) -> dict[str, str]:
        """The servers that a ``qa.toml`` in the working folder (not the user, a flag or
        the environment) names to receive document text: a prepared folder must not
        send it elsewhere without saying so."""
        project = TomlConfigSettingsSource(cls, PROJECT_CONFIG)()
        named = {
            n: str(project[n]) for n in ("llm_url", "embed_url", "chroma_url") if project.get(n)
        }
        if not named:  # the usual case: no qa.toml here, or none naming a server
            return {}
        origins = cls.origins(**overrides)
        return {n: url for n, url in named.items() if origins[n] == str(PROJECT_CONFIG)}

    @classmethod
    def origins(cls, **overrides: Any) -> dict[str, str]:
        """Where each setting's value comes from, for ``qa config``."""
        layers = [
            ("flag", overrides),
            ("env", EnvSettingsSource(cls)()),
            (str(PROJECT_CONFIG), TomlConfigSettingsSource(cls, PROJECT_CONFIG)()),
            (str(user_config()), TomlConfigSettingsSource(cls, user_config())()),
        ]
        found = {}
        for name in cls.model_fields:
            source = next((where for where, values in layers if name in values), "default")
            found[name] = f"env QA_{name.upper()}" if source == "env" else source
        return found
