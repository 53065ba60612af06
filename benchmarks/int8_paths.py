"""The encoder's forward pass in fp32 and under each int8 path that could serve it on CPU.

    python -m benchmarks.int8_paths ENCODER_DIR [--batch 32] [--length 24] [--repeats 20]

Rows: fp32; `torch.ao` dynamic quantization as the package applies it
(`spacy_spanbert.encoder.quantization.quantize_encoder`); torchao's
`Int8DynamicActivationInt8WeightConfig` and `Int8WeightOnlyConfig` in eager mode, when
torchao is importable (it is not a dependency: install it in a separate environment or
put it on PYTHONPATH to compare). Each row: ms per batch of random wordpiece ids (the
mean of `repeats` after 3 warm-up passes), its speed against fp32, and how far its
last hidden state is from fp32's (cosine). Prints a Markdown table.
"""

import copy
import time
from typing import Callable, Dict, List

import torch
import typer
from transformers import BertModel

from spacy_spanbert.encoder.quantization import quantize_encoder

from .tables import header, lines, row

app = typer.Typer(add_completion=False)


def torchao_paths() -> Dict[str, Callable[[torch.nn.Module], None]]:
    """torchao's int8 configs, if torchao is installed."""
    try:
        from torchao.quantization import (
            Int8DynamicActivationInt8WeightConfig,
            Int8WeightOnlyConfig,
            quantize_,
        )
    except ImportError:
        return {}
    return {
        "torchao Int8DynamicActivationInt8Weight (eager)": lambda m: quantize_(
            m, Int8DynamicActivationInt8WeightConfig()
        ),
        "torchao Int8WeightOnly (eager)": lambda m: quantize_(m, Int8WeightOnlyConfig()),
    }


@app.command()
def main(
    encoder: str,
    batch: int = 32,
    length: int = 24,
    repeats: int = 20,
    threads: int = 2,
) -> None:
    torch.set_num_threads(threads)
    base = BertModel.from_pretrained(encoder).eval()
    paths: Dict[str, Callable[[torch.nn.Module], None]] = {
        "fp32": lambda m: None,
        "torch.ao dynamic int8 (this package)": quantize_encoder,
        **torchao_paths(),
    }
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, base.config.vocab_size, (batch, length), generator=generator)
    mask = torch.ones_like(ids)
    rows: List[str] = [header("path", "ms / batch", "speed vs fp32", "cosine to fp32")]
    with torch.inference_mode():
        reference = base(input_ids=ids, attention_mask=mask).last_hidden_state
        fp32_ms = None
        for name, quantize in paths.items():
            model = copy.deepcopy(base)
            quantize(model)
            for _ in range(3):
                model(input_ids=ids, attention_mask=mask)
            start = time.perf_counter()
            for _ in range(repeats):
                out = model(input_ids=ids, attention_mask=mask).last_hidden_state
            ms = 1000 * (time.perf_counter() - start) / repeats
            fp32_ms = fp32_ms or ms
            cosine = torch.nn.functional.cosine_similarity(
                out.flatten(), reference.flatten(), dim=0
            )
            rows.append(row(name, f"{ms:.1f}", f"{fp32_ms / ms:.2f}×", f"{float(cosine):.4f}"))
    print(f"batch {batch} × {length} wordpieces, torch {torch.__version__}, {threads} threads")
    print(lines(rows))


if __name__ == "__main__":
    app()
