"""One settings object: defaults < ``qa.toml`` < ``QA_*`` environment < flags."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    """Where the documents and store live, and the knobs of each pipeline step."""

    model_config = SettingsConfigDict(env_prefix="QA_", toml_file="qa.toml", extra="forbid")

    docs: Annotated[list[Path], NoDecode] = Field(
        default_factory=lambda: [Path("seeds")],
        description="Folders or files that make up the corpus.",
    )
    store: Path = Field(Path("index"), description="Folder of the local Chroma store.")
    prompts: Path = Field(
        Path(__file__).resolve().parent.parent / "prompts",
        description="Folder of prompt templates.",
    )
    chunk_chars: int = Field(600, ge=100, description="Target chunk size in characters.")
    max_file_bytes: int = Field(20_000_000, ge=1, description="Larger files are skipped.")
    top_k: int = Field(6, ge=1, description="Chunks kept after hybrid retrieval.")
    evidence_sentences: int = Field(1, ge=1, description="Sentences shown to the reader.")
    min_confidence: float = Field(
        0.25, ge=0.0, le=1.0, description="Least answer confidence; below it qa abstains."
    )
    max_answer_tokens: int = Field(32, ge=1, description="Generation limit for the reader.")
    threads: int = Field(max(1, min(4, os.cpu_count() or 1)), ge=1, description="LLM threads.")

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
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))
