"""A model's own chat template, for a GGUF file whose template is not ChatML.

qa's prompts are written in ChatML (``prompts/*.txt``). For another model they are read
as turns (``chat_messages``) and rendered with the Jinja template its file
carries, as its trainers render a conversation (a sandboxed Jinja environment, as
Hugging Face's tokenizers use). A prompt that stops inside a turn (the shared beginning
read ahead, ``qa.llm.ahead``) is rendered up to the same point: the full prompt's
rendering begins with it, so llama.cpp reuses what it read.
"""

from __future__ import annotations

import re
import time
from functools import cache
from typing import NoReturn

from qa.errors import ModelError

_OPEN_REPLY = "<|im_start|>assistant\n"  # a prompt that ends here asks for the reply
_CUT = "\x01qa-cut\x01"  # where a prompt that stops inside a turn stops


_TURN = re.compile(r"<\|im_start\|>(system|user|assistant)\n(.*?)(?:<\|im_end\|>\s*|$)", re.DOTALL)


def chat_messages(prompt: str) -> list[dict[str, str]]:
    """The turns of a ChatML prompt as chat messages (the open assistant turn at its end
    is where the reply goes, so it is left out); other text is one user message."""
    turns = [(role, text.strip()) for role, text in _TURN.findall(prompt)]
    if turns and turns[-1] == ("assistant", ""):
        turns.pop()
    return [{"role": r, "content": t} for r, t in turns] or [{"role": "user", "content": prompt}]


def _refuse(message: str) -> NoReturn:
    raise ValueError(message)


class ChatTemplate:
    """Renders ChatML prompts in a model's own template."""

    def __init__(self, source: str, bos: str = "", eos: str = "") -> None:
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        environment.globals["raise_exception"] = _refuse
        environment.globals["strftime_now"] = lambda fmt: time.strftime(fmt)
        try:
            self._template = environment.from_string(source)
        except Exception as exc:  # jinja2's TemplateSyntaxError and its kin
            raise ModelError(f"its chat template cannot be read: {exc}") from exc
        # llama.cpp adds the model's BOS token itself when it reads a prompt
        self._fields = {"bos_token": "", "eos_token": eos}

    def _render(self, messages: list[dict[str, str]], reply: bool) -> str:
        try:
            return self._template.render(
                messages=messages, add_generation_prompt=reply, **self._fields
            )
        except ValueError:
            if not messages or messages[0]["role"] != "system":
                raise
        # a template without a system role: the instructions open the first user turn
        system, *rest = messages
        first = rest.pop(0)["content"] if rest else ""
        merged = {"role": "user", "content": f"{system['content']}\n\n{first}"}
        return self._template.render(
            messages=[merged, *rest], add_generation_prompt=reply, **self._fields
        )

    def render(self, prompt: str) -> str:
        """The ChatML prompt in this template: a whole one with the model's reply opened,
        one that stops inside a turn up to where it stops."""
        messages = chat_messages(prompt)
        if prompt.endswith(_OPEN_REPLY) or prompt.endswith(_OPEN_REPLY.rstrip("\n")):
            return self._try(messages, reply=True)
        last = dict(messages[-1])
        last["content"] += _CUT
        return self._try([*messages[:-1], last], reply=False).split(_CUT)[0]

    def _try(self, messages: list[dict[str, str]], reply: bool) -> str:
        try:
            return self._render(messages, reply)
        except Exception as exc:
            raise ModelError(f"the model's chat template failed on qa's prompt: {exc}") from exc


@cache
def template_for(source: str, bos: str, eos: str) -> ChatTemplate:
    return ChatTemplate(source, bos, eos)


def check(source: str, bos: str, eos: str) -> None:
    """A ModelError unless the template renders a conversation like qa's prompts."""
    probe = (
        "<|im_start|>system\nAnswer briefly.<|im_end|>\n<|im_start|>user\nHello?<|im_end|>\n"
        "<|im_start|>assistant\nHi<|im_end|>\n<|im_start|>user\nAnd you?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    rendered = template_for(source, bos, eos).render(probe)
    if "Hello?" not in rendered or "And you?" not in rendered:
        raise ModelError("its chat template leaves out the conversation's turns")
