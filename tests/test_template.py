"""A GGUF model whose chat template is not ChatML: qa's ChatML prompts are rendered in its
own template, and a prompt's shared beginning renders as the beginning of the whole, so
llama.cpp still reuses what it read."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.answer.generator import load_prompt, prompt_prefix
from qa.llm.ahead import pieces
from qa.llm.gguf import check_model
from qa.llm.inprocess import LlamaCppLLM
from qa.llm.template import ChatTemplate
from qa.settings import packaged_prompts

from .test_gguf import CHATML, gguf

# Llama 3's template, as its GGUF files carry it (less the date line)
LLAMA3 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    " + message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{% endif %}"
)
# Mistral's: no system role, and an assistant turn ends with the EOS token
MISTRAL = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% endif %}"
    "{% endfor %}"
)
PROMPT = (
    "<|im_start|>system\nAnswer from the text.<|im_end|>\n<|im_start|>user\nText: A.\n\n"
    "Question: B?<|im_end|>\n<|im_start|>assistant\nC<|im_end|>\n<|im_start|>user\nText: D."
    "\n\nQuestion: E?<|im_end|>\n<|im_start|>assistant\n"
)


def test_a_chatml_prompt_is_rendered_in_llama3s_template() -> None:
    rendered = ChatTemplate(LLAMA3, "<|begin_of_text|>", "<|eot_id|>").render(PROMPT)
    assert rendered.startswith("<|start_header_id|>system<|end_header_id|>\n\nAnswer from")
    assert "<|im_start|>" not in rendered
    assert "<|begin_of_text|>" not in rendered  # llama.cpp adds it
    assert rendered.endswith(
        "Question: E?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    )


def test_a_template_without_a_system_role_gets_the_instructions_in_the_first_turn() -> None:
    rendered = ChatTemplate(MISTRAL, "<s>", "</s>").render(PROMPT)
    assert rendered.startswith("[INST] Answer from the text.\n\nText: A.")
    assert "C</s>[INST] Text: D." in rendered and rendered.endswith("Question: E? [/INST]")


@pytest.mark.parametrize("template", [LLAMA3, MISTRAL])
@pytest.mark.parametrize("name", ["answer.txt", "rewrite.txt", "yes-no.txt", "check.txt"])
def test_every_shared_beginning_renders_as_the_beginning_of_the_whole(
    template: str, name: str
) -> None:
    prompt = load_prompt(packaged_prompts() / name)
    values = {field: f"the {field} here" for field in prompt.input_variables}
    whole = prompt.format(**values)
    model = ChatTemplate(template, "<s>", "</s>")
    rendered = model.render(whole)
    at = {field: prompt.template.index("{" + field + "}") for field in prompt.input_variables}
    for field in prompt.input_variables:
        given = {f: values[f] for f in prompt.input_variables if at[f] < at[field]}
        assert rendered.startswith(model.render(prompt_prefix(prompt, field, **given))), field
    for piece in pieces(whole):
        assert rendered.startswith(model.render(piece))


def test_a_model_file_with_another_template_is_read_with_its_tokens(tmp_path: Path) -> None:
    ids = {"tokenizer.ggml.bos_token_id": 0, "tokenizer.ggml.eos_token_id": 2}
    path = gguf(tmp_path / "m.gguf", {"tokenizer.chat_template": MISTRAL}, ids)
    model = check_model(path)
    assert (model.chatml, model.bos, model.eos) == (False, "<s>", "</s>")
    assert check_model(gguf(tmp_path / "q.gguf", {"tokenizer.chat_template": CHATML})).chatml


def test_the_in_process_model_renders_only_where_it_has_another_template() -> None:
    assert LlamaCppLLM(threads=1, max_tokens=8).native(PROMPT) == PROMPT
    llama = LlamaCppLLM(threads=1, max_tokens=8, template=LLAMA3, eos="<|eot_id|>")
    assert llama.native(PROMPT) == ChatTemplate(LLAMA3, "", "<|eot_id|>").render(PROMPT)
