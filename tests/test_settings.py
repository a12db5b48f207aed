"""Settings precedence (defaults < user qa.toml < project qa.toml < QA_* < flags),
`qa config` and `qa info`."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.cli.main import run
from qa.cpu import describe as describe_cpu
from qa.settings import Settings


@pytest.fixture
def layered(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = workdir / "config" / "qa"
    user.mkdir(parents=True)
    (user / "qa.toml").write_text(
        'top_k = 3\nllm_model = "user-model"\nllm_timeout = 5.0\nchroma_url = "http://user:1"\n',
        encoding="utf-8",
    )
    (workdir / "qa.toml").write_text('top_k = 4\nllm_model = "project-model"\n', encoding="utf-8")
    monkeypatch.setenv("QA_LLM_MODEL", "env-model")
    monkeypatch.setenv("QA_LLM_API_KEY", "sk-never-shown")


def test_each_layer_overrides_the_one_below(layered: None) -> None:
    settings = Settings(llm_url="http://flag:2/v1")
    assert settings.top_k == 4  # project over user
    assert settings.llm_timeout == 5.0  # user over default
    assert settings.llm_model == "env-model"  # env over both files
    assert settings.llm_url == "http://flag:2/v1"
    assert settings.chroma_url == "http://user:1"
    assert Settings(llm_model="flag-model").llm_model == "flag-model"  # flags over env


def test_config_shows_values_and_where_they_come_from(
    layered: None, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["config", "--llm-url", "http://flag:2/v1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    user = workdir / "config" / "qa" / "qa.toml"
    for expected in [
        'docs = ["seeds"]  # default',
        f'store = "{workdir / "index"}"  # env QA_STORE',
        "top_k = 4  # qa.toml",
        'llm_url = "http://flag:2/v1"  # flag',
        'llm_model = "env-model"  # env QA_LLM_MODEL',
        'llm_api_key = "********"  # env QA_LLM_API_KEY',
        f"llm_timeout = 5.0  # {user}",
        f'chroma_url = "http://user:1"  # {user}',
        'reader = "combined"  # default',
        "max_answer_tokens = 48  # default",
    ]:
        assert expected in lines
    assert "sk-never-shown" not in "\n".join(lines)
    assert len(lines) == len(Settings.model_fields)


def test_config_without_any_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["config"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "# llm_url is not set  # default" in lines
    assert 'llm_api = "chat"  # default' in lines


def test_a_bad_value_is_one_line(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "qa.toml").write_text("top_k = 0\n", encoding="utf-8")
    assert run(["config"]) == 1
    assert capsys.readouterr().err == (
        "error: bad settings: top_k: Input should be greater than or equal to 1\n"
    )


def test_a_bad_flag_value_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["ask", "Why?", "--llm-api", "telepathy"]) == 1
    assert capsys.readouterr().err == (
        "error: bad settings: llm_api: Input should be 'chat' or 'completions'\n"
    )


def test_info_before_and_after_indexing(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["info"]) == 0
    before = capsys.readouterr().out
    assert "index      not indexed yet\n" in before
    assert "files      0\n" in before
    assert run(["index"]) == 0
    capsys.readouterr()
    assert run(["info"]) == 0
    after = capsys.readouterr().out.splitlines()
    assert after[0] == "corpus     seeds"
    assert after[1] == f"store      {workdir / 'index'} (vectors: local Chroma)"
    assert after[2:4] == ["index      up to date", "files      1"]
    chunks, vectors = after[4].split()[1], after[5].split()[1]
    assert int(chunks) > 1 and chunks == vectors
    assert after[6] == "embedding  all-MiniLM-L6-v2 int8, 7-bit weights (ONNX Runtime)"
    assert after[7] == "generator  Qwen2.5-Coder-1.5B-Instruct Q4_K_M, in-process (llama.cpp)"
    assert after[8] == (
        "reader     the generator, checked against the extractive MiniLM-L6 "
        "(ONNX Runtime, int8 with 7-bit weights)"
    )
    assert after[9].startswith("abstention the shipped fit (") and after[9].endswith(".json)")
    assert after[10] == f"cpu        {describe_cpu()}"
    assert after[11].startswith("versions   qa 0.1.0, chromadb ")
    (workdir / "seeds" / "extra.txt").write_text("Something new.\n", encoding="utf-8")
    assert run(["info", "--llm-url", "http://gpu:8000/v1", "--llm-model", "big"]) == 0
    shown = capsys.readouterr().out
    assert "index      changed since the last index run\n" in shown
    assert "generator  big at http://gpu:8000/v1\n" in shown
    assert (
        "abstention the packaged Qwen2.5-Coder-1.5B-Instruct Q4_K_M's fit (run `qa calibrate` "
        "to fit this model)\n"
    ) in shown


def test_a_bad_chroma_url_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["index", "--chroma-url", "ftp://x:1"]) == 1
    assert capsys.readouterr().err == (
        "error: bad Chroma server URL 'ftp://x:1'; expected http://HOST:PORT\n"
    )
