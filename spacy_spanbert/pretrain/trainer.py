"""Continued pre-training of a BERT-family encoder with SpanBERT's objective.

L = L_MLM + sbo_weight · L_SBO, each the mean cross-entropy over its targets. AdamW
(0.9, 0.999, eps 1e-8, weight decay 0.01 except biases and LayerNorm), linear warmup
then linear decay to 0, gradient clipping at 1.0, fp16 autocast with a gradient scaler
on GPU when asked. Every step's batch, masks and dropout come from generators seeded
by the run's seed and the step, so a run resumed from a checkpoint goes on exactly as
an uninterrupted one would.
"""

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, cast

import numpy
import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm
from transformers import BertConfig, BertModel
from transformers.models.bert.modeling_bert import BertOnlyMLMHead
from transformers.tokenization_utils_fast import PreTrainedTokenizerFast

from ..encoder.loading import load_encoder, load_prefixed_tensors
from .batches import Batch, SpecialIds, make_batch
from .checkpoint import RunDirectory
from .data import build_sequences, describe
from .heads import SpanBoundaryHead, masked_lm_head
from .settings import PretrainSettings

BETAS = (0.9, 0.999)
EPS = 1e-8
WEIGHT_DECAY = 0.01
GRAD_CLIP = 1.0
MLM_HEAD_PREFIX = "cls.predictions."
# Streams of the generator seeded by (seed, stream, step or epoch).
ORDER_STREAM, MASK_STREAM, DROPOUT_STREAM = 1, 2, 3

StepCallback = Callable[[int, Dict[str, float]], None]


class NoTrainingDataError(ValueError):
    """The text gave no sequence to pre-train on."""


@dataclass
class PretrainResult:
    output: Path
    steps_done: int
    resumed_from: int
    counts: Dict[str, int]
    seconds: float
    sequences_per_second: float


class PretrainingModel(nn.Module):
    """The encoder with its masked-LM and span boundary heads."""

    def __init__(self, encoder: BertModel) -> None:
        super().__init__()
        self.encoder = encoder
        word_embeddings = encoder.get_input_embeddings()
        self.heads = nn.ModuleDict(
            {
                "mlm": masked_lm_head(cast(BertConfig, encoder.config), word_embeddings),
                "sbo": SpanBoundaryHead(
                    encoder.config.hidden_size,
                    word_embeddings,
                    layer_norm_eps=encoder.config.layer_norm_eps,
                ),
            }
        )

    def losses(self, batch: Batch, sbo_weight: float) -> Dict[str, torch.Tensor]:
        hidden = self.encoder(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask
        ).last_hidden_state
        flat = hidden.reshape(-1, hidden.shape[-1])
        mlm_logits = self.heads["mlm"](flat[batch.mlm_positions])
        losses = {"mlm": F.cross_entropy(mlm_logits.float(), batch.mlm_labels)}
        if sbo_weight > 0 and len(batch.sbo_labels):
            sbo_logits = self.heads["sbo"](
                flat[batch.sbo_left], flat[batch.sbo_right], batch.sbo_positions
            )
            losses["sbo"] = F.cross_entropy(sbo_logits.float(), batch.sbo_labels)
        losses["loss"] = losses["mlm"] + sbo_weight * losses.get("sbo", 0.0)
        return losses


def pretrain(
    settings: PretrainSettings,
    output: Path,
    *,
    gpu_id: int = -1,
    save_every: int = 500,
    callback: Optional[StepCallback] = None,
    progress: bool = True,
) -> PretrainResult:
    """Pre-train `settings.encoder` on `settings.text` into `output`, or resume the run
    there. `callback(step, losses)` is called after every step."""
    settings.validate()
    if save_every < 1:
        raise ValueError(f"save_every must be at least 1, got {save_every}.")
    device = _device(gpu_id, settings.mixed_precision)
    run = RunDirectory(output)
    checkpoint = run.open(settings)
    source = str(checkpoint.path) if checkpoint else settings.encoder
    hf = load_encoder(source, {"use_fast": True}, {})
    tokenizer = hf.tokenizer
    if not isinstance(tokenizer, PreTrainedTokenizerFast):
        raise ValueError("Pre-training needs a fast tokenizer (it maps wordpieces to words).")
    model = PretrainingModel(hf.transformer)
    if checkpoint is None:
        _load_pretrained_mlm_head(model, settings.encoder)
    model.to(device)
    sequences, counts = build_sequences(Path(settings.text), tokenizer, settings.max_length)
    if not sequences:
        raise NoTrainingDataError(_no_data_message(settings.text, describe(counts), counts.errors))
    optimizer = _optimizer(model, settings.lr)
    scaler = torch.amp.GradScaler("cuda", enabled=settings.mixed_precision)
    start = 0
    if checkpoint is not None:
        run.load_heads(checkpoint, model.heads, model.encoder.get_input_embeddings().weight)
        state = run.load_optimizer_state(checkpoint)
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        run.truncate_log(checkpoint.step)
        start = checkpoint.step
        run.log({"step": start, "event": "resume"})
    else:
        run.run_dir.mkdir(parents=True, exist_ok=True)
        run.log(
            {"step": 0, "event": "start", "settings": vars(settings), "counts": describe(counts)}
        )
    special = _special_ids(tokenizer)
    order = _EpochOrder(len(sequences), settings.seed)
    began = time.perf_counter()
    bar = tqdm(
        total=settings.steps, initial=start, unit="step", desc="pretrain", disable=not progress
    )
    for step in range(start, settings.steps):
        indices = order.batch(step, settings.batch_size)
        batch = make_batch(
            [sequences[i] for i in indices],
            settings.masking,
            special,
            numpy.random.default_rng([settings.seed, MASK_STREAM, step]),
        ).to(device)
        torch.manual_seed(
            int(numpy.random.default_rng([settings.seed, DROPOUT_STREAM, step]).integers(2**62))
        )
        for group in optimizer.param_groups:
            group["lr"] = settings.lr * _schedule(step, settings.warmup, settings.steps)
        losses = _update(model, optimizer, scaler, batch, settings)
        elapsed = time.perf_counter() - began
        rate = (step + 1 - start) * settings.batch_size / elapsed
        entry = {
            "step": step + 1,
            "lr": optimizer.param_groups[0]["lr"],
            **losses,
            "sequences_per_s": rate,
        }
        run.log(entry)
        bar.set_postfix(
            seq_s=f"{rate:.1f}", mlm=f"{losses['mlm']:.3f}", sbo=f"{losses.get('sbo', 0.0):.3f}"
        )
        bar.update(1)
        if (step + 1) % save_every == 0 or step + 1 == settings.steps:
            optimizer_state = {"optimizer": optimizer.state_dict(), "scaler": scaler.state_dict()}
            run.save(
                step + 1,
                settings,
                describe(counts),
                model.encoder,
                tokenizer,
                model.heads,
                optimizer_state,
            )
        if callback is not None:
            callback(step + 1, losses)
    bar.close()
    seconds = time.perf_counter() - began
    done = settings.steps - start
    return PretrainResult(
        output=Path(output),
        steps_done=done,
        resumed_from=start,
        counts=describe(counts),
        seconds=seconds,
        sequences_per_second=done * settings.batch_size / seconds if seconds > 0 else 0.0,
    )


def _update(
    model: PretrainingModel,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    batch: Batch,
    settings: PretrainSettings,
) -> Dict[str, float]:
    model.train()
    optimizer.zero_grad(set_to_none=True)
    device_type = batch.input_ids.device.type
    with torch.autocast(device_type, dtype=torch.float16, enabled=settings.mixed_precision):
        losses = model.losses(batch, settings.sbo_weight)
    scaler.scale(losses["loss"]).backward()
    scaler.unscale_(optimizer)
    nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
    scaler.step(optimizer)
    scaler.update()
    return {name: float(value.detach()) for name, value in losses.items()}


def _schedule(step: int, warmup: int, steps: int) -> float:
    """Linear warmup to 1 over `warmup` steps, then linear decay to 0 at `steps`."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (steps - step) / max(1, steps - warmup))


def _optimizer(model: nn.Module, lr: float) -> torch.optim.AdamW:
    """AdamW with weight decay on weights, none on biases and LayerNorm; each
    parameter once, tied ones included."""
    decay: Dict[int, nn.Parameter] = {}
    no_decay: Dict[int, nn.Parameter] = {}
    for module in model.modules():
        for name, parameter in module.named_parameters(recurse=False):
            exempt = name == "bias" or isinstance(module, nn.LayerNorm)
            (no_decay if exempt else decay).setdefault(id(parameter), parameter)
    groups = [
        {
            "params": [p for key, p in decay.items() if key not in no_decay],
            "weight_decay": WEIGHT_DECAY,
        },
        {"params": list(no_decay.values()), "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr, betas=BETAS, eps=EPS)


class _EpochOrder:
    """Which sequences make each step's batch: the sequences in a seeded random order
    per epoch, batch after batch across epoch ends."""

    def __init__(self, n: int, seed: int) -> None:
        self.n = n
        self.seed = seed
        self.orders: Dict[int, numpy.ndarray] = {}

    def batch(self, step: int, batch_size: int) -> numpy.ndarray:
        positions = numpy.arange(step * batch_size, (step + 1) * batch_size)
        epochs = positions // self.n
        for epoch in set(epochs.tolist()) - set(self.orders):
            self.orders = {kept: order for kept, order in self.orders.items() if kept >= epoch - 1}
            rng = numpy.random.default_rng([self.seed, ORDER_STREAM, epoch])
            self.orders[epoch] = rng.permutation(self.n)
        return numpy.asarray(
            [self.orders[int(e)][int(p) % self.n] for e, p in zip(epochs, positions)]
        )


def _special_ids(tokenizer: PreTrainedTokenizerFast) -> SpecialIds:
    specials = set(tokenizer.all_special_ids)
    replacements = numpy.asarray([i for i in range(len(tokenizer)) if i not in specials])
    return SpecialIds(
        cls=tokenizer.cls_token_id,
        sep=tokenizer.sep_token_id,
        pad=tokenizer.pad_token_id,
        mask=tokenizer.mask_token_id,
        replacements=replacements,
    )


def _load_pretrained_mlm_head(model: PretrainingModel, encoder: str) -> None:
    """Start the masked-LM head from the checkpoint's, when it has one (BERT's and
    SpanBERT's do; sentence encoders such as MiniLM don't: the head starts random)."""
    state = load_prefixed_tensors(encoder, MLM_HEAD_PREFIX)
    if state:
        # The decoder's weight is the encoder's word embeddings, loaded already.
        state.pop("decoder.weight", None)
        mlm_head = cast(BertOnlyMLMHead, model.heads["mlm"])
        mlm_head.predictions.load_state_dict(state, strict=False)


def _device(gpu_id: int, mixed_precision: bool) -> torch.device:
    if gpu_id < 0:
        if mixed_precision:
            raise ValueError("mixed_precision needs a GPU: pass --gpu-id, or leave it off on CPU.")
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ValueError(f"--gpu-id {gpu_id}: torch sees no GPU here (a CPU build of torch?).")
    return torch.device(f"cuda:{gpu_id}")


def _no_data_message(text: str, counts: Dict[str, int], errors: List[str]) -> str:
    listed = ", ".join(f"{value} {name.replace('_', ' ')}" for name, value in counts.items())
    message = f"{text} gave no sequence to pre-train on ({listed})."
    if errors:
        message += " First errors: " + "; ".join(errors)
    return message
