"""Export a trained reader (train_reader.py's folder) to the shipped ONNX model.

Writes ``reader.onnx`` (int8 weights in 7 bits with one scale per output channel, by
ONNX Runtime's dynamic quantisation; fp32 with --fp32), ``tokenizer.json`` and
``training.json`` into --out, which qa loads from ``qa/weights/reader``. One scale
per tensor instead cost 3 points of right spans; per channel costs none.

    python training/export_reader.py build/reader-cpu --out qa/weights/reader
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import warnings
from pathlib import Path


def export(trained: Path, target: Path) -> None:
    """The model's start and end logits as an fp32 ONNX graph with dynamic shapes."""
    import torch
    from transformers import BertForQuestionAnswering

    model = BertForQuestionAnswering.from_pretrained(str(trained)).eval()

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = model

        def forward(
            self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            out = self.bert(input_ids=ids, attention_mask=mask, token_type_ids=types)
            return out.start_logits, out.end_logits

    example = torch.ones(1, 8, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Logits(),
            (example, example, torch.zeros_like(example)),
            str(target),
            input_names=names,
            output_names=["start_logits", "end_logits"],
            dynamic_axes={n: axes for n in [*names, "start_logits", "end_logits"]},
            opset_version=17,
            dynamo=False,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trained", type=Path)
    parser.add_argument("--out", type=Path, default=Path("qa/weights/reader"))
    parser.add_argument("--fp32", action="store_true", help="skip int8 quantisation")
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    from onnxruntime.quantization import QuantType, quantize_dynamic

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        fp32 = Path(scratch) / "reader-fp32.onnx"
        export(args.trained, fp32)
        if args.fp32:
            shutil.copy(fp32, args.out / "reader.onnx")
        else:
            quantize_dynamic(
                str(fp32),
                str(args.out / "reader.onnx"),
                weight_type=QuantType.QInt8,
                per_channel=True,
                reduce_range=True,  # 7-bit weights: no CPU saturates (bench/quantisation.py)
            )
    for name in ("tokenizer.json", "training.json"):
        shutil.copy(args.trained / name, args.out / name)
    size = (args.out / "reader.onnx").stat().st_size / 1e6
    print(f"wrote {args.out / 'reader.onnx'} ({size:.1f} MB)")


if __name__ == "__main__":
    main()
