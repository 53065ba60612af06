"""Continued pre-training with SpanBERT's objective, on the tiny test encoder."""

import json
import shutil
from pathlib import Path
from typing import Dict, List

import numpy
import pytest
import spacy
import torch
from safetensors.torch import load_file
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_spanbert.cli import app
from spacy_spanbert.encoder import UnsupportedEncoderError
from spacy_spanbert.pretrain import (
    NoTrainingDataError,
    PretrainOutputError,
    PretrainSettings,
    pretrain,
)
from spacy_spanbert.pretrain.batches import span_boundary_targets
from spacy_spanbert.pretrain.heads import SBO_MAX_POSITIONS, SpanBoundaryHead
from spacy_spanbert.pretrain.masking import (
    MAX_SPAN_WORDS,
    draw_span_lengths,
    runs_of,
    span_length_law,
    span_masking,
    token_masking,
)

from .util import VOCAB_TEXT


def _word_ids(rng: numpy.random.Generator, n_words: int) -> numpy.ndarray:
    """Words of 1 to 3 wordpieces each, as a sequence's word index per wordpiece."""
    return numpy.repeat(numpy.arange(n_words), rng.integers(1, 4, size=n_words))


def test_span_length_law_is_the_truncated_geometric():
    law = span_length_law()
    assert len(law) == MAX_SPAN_WORDS and law.sum() == pytest.approx(1.0)
    assert law[1] / law[0] == pytest.approx(0.8)
    mean = float((numpy.arange(1, 11) * law).sum())
    assert mean == pytest.approx(3.797, abs=0.001)  # "mean 3.8" in the SpanBERT paper
    lengths = draw_span_lengths(numpy.random.default_rng(0), 200_000)
    shares = numpy.bincount(lengths, minlength=11)[1:] / len(lengths)
    # 200,000 draws: a share's standard error is at most 0.0011.
    numpy.testing.assert_allclose(shares, law, atol=0.005)


def test_span_masking_hides_15_percent_in_whole_words():
    rng = numpy.random.default_rng(0)
    masked = total = 0
    for _ in range(2000):
        words = _word_ids(rng, int(rng.integers(40, 80)))
        masking = span_masking(words, rng)
        masked += int(masking.masked.sum())
        total += len(words)
        # Whole words: a word is masked in all its wordpieces or in none.
        per_word = numpy.bincount(words, weights=masking.masked) / numpy.bincount(words)
        assert set(numpy.unique(per_word)) <= {0.0, 1.0}
        numpy.testing.assert_array_equal(masking.spans, runs_of(masking.masked))
    assert masked / total == pytest.approx(0.15, abs=0.01)


def test_each_span_gets_one_replacement_draw_80_10_10():
    rng = numpy.random.default_rng(1)
    codes: List[int] = []
    for _ in range(3000):
        masking = span_masking(_word_ids(rng, 60), rng)
        for start, end in masking.spans:
            assert len(set(masking.replacement[start:end])) == 1
            codes.append(int(masking.replacement[start]))
    shares = numpy.bincount(codes, minlength=3) / len(codes)
    # About 20,000 spans: standard errors 0.003 (80%) and 0.002 (10%).
    numpy.testing.assert_allclose(shares, [0.8, 0.1, 0.1], atol=0.015)


def test_token_masking_draws_per_wordpiece():
    rng = numpy.random.default_rng(2)
    codes = []
    for _ in range(500):
        masking = token_masking(100, rng)
        assert masking.masked.sum() == 15
        codes.extend(masking.replacement[masking.masked].tolist())
    numpy.testing.assert_allclose(numpy.bincount(codes) / len(codes), [0.8, 0.1, 0.1], atol=0.015)


def test_span_boundary_targets_skip_spans_at_the_sequence_edges():
    input_ids = numpy.arange(100, 130)
    spans = numpy.asarray([[0, 2], [5, 8], [10, 30 - 2], [28, 30]])
    targets = span_boundary_targets(spans, 30, input_ids, offset=1)
    left, right, places, labels = targets
    # [0, 2) starts the sequence and [28, 30) ends it: no targets. [10, 28) has 18
    # pieces, of which the first SBO_MAX_POSITIONS get one.
    assert len(labels) == 3 + SBO_MAX_POSITIONS
    assert left.tolist() == [5] * 3 + [10] * SBO_MAX_POSITIONS  # piece s-1, flat (+1)
    assert right.tolist() == [9] * 3 + [29] * SBO_MAX_POSITIONS  # piece e, flat (+1)
    assert places.tolist() == [0, 1, 2, *range(SBO_MAX_POSITIONS)]
    assert labels.tolist() == [105, 106, 107, *range(110, 110 + SBO_MAX_POSITIONS)]


def test_span_boundary_head_shapes_and_gradients():
    torch.manual_seed(0)
    embeddings = torch.nn.Embedding(11, 6).double()
    head = SpanBoundaryHead(6, embeddings, position_size=4, max_positions=5).double()
    left, right = torch.randn(7, 6, dtype=torch.double), torch.randn(7, 6, dtype=torch.double)
    positions = torch.tensor([0, 1, 2, 4, 0, 3, 1])
    assert head(left, right, positions).shape == (7, 11)
    left.requires_grad_(True)
    right.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: head(a, b, positions), (left, right))
    # The parameters too, the tied output embeddings among them.
    for name, parameter in head.named_parameters():
        value = parameter.detach().clone().requires_grad_(True)

        def with_parameter(p: torch.Tensor, name: str = name) -> torch.Tensor:
            return torch.func.functional_call(
                head, {name: p}, (left.detach(), right.detach(), positions)
            )

        assert torch.autograd.gradcheck(with_parameter, (value,)), name


@pytest.fixture(scope="module")
def text_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("text") / "text.txt"
    path.write_text("\n".join(VOCAB_TEXT * 8) + "\n", encoding="utf8")
    return path


def _settings(encoder: Path, text: Path, **overrides) -> PretrainSettings:
    values = dict(
        encoder=str(encoder),
        text=str(text),
        steps=6,
        batch_size=4,
        max_length=32,
        lr=1e-3,
        warmup=2,
        seed=0,
    )
    values.update(overrides)
    return PretrainSettings(**values)


def _weights(path: Path) -> Dict[str, torch.Tensor]:
    return load_file(str(path / "model.safetensors"))


def test_loss_falls_on_a_small_repeated_text(tiny_bert, text_file, tmp_path):
    losses: List[float] = []
    settings = _settings(tiny_bert, text_file, steps=60, batch_size=8)
    pretrain(
        settings,
        tmp_path / "out",
        progress=False,
        callback=lambda step, step_losses: losses.append(step_losses["loss"]),
    )
    assert len(losses) == 60
    assert numpy.mean(losses[-10:]) < numpy.mean(losses[:10]) - 0.5, losses


@pytest.mark.parametrize("masking,sbo_weight", [("span", 1.0), ("span", 0.0), ("token", 0.0)])
def test_every_row_of_the_comparison_runs(tiny_bert, text_file, tmp_path, masking, sbo_weight):
    logged = []
    settings = _settings(tiny_bert, text_file, masking=masking, sbo_weight=sbo_weight, steps=3)
    pretrain(
        settings,
        tmp_path,
        progress=False,
        callback=lambda step, step_losses: logged.append(step_losses),
    )
    assert all(("sbo" in entry) == (sbo_weight > 0) for entry in logged)


def test_saved_encoder_loads_through_the_spanbert_factory(spanbert_layout, text_file, tmp_path):
    """From SpanBERT's hub layout (no tokenizer config, lowercasing by default) to an
    encoder that the `spanbert` factory loads cased, with the same vocabulary."""
    pretrain(_settings(spanbert_layout, text_file), tmp_path / "out", progress=False)
    assert (tmp_path / "out" / "vocab.txt").read_text() == (
        spanbert_layout / "vocab.txt"
    ).read_text()
    nlp = spacy.blank("en")
    nlp.add_pipe("spanbert", config={"model": {"name": str(tmp_path / "out")}})
    nlp.initialize()
    encoder = nlp.get_pipe("spanbert").model
    assert encoder.tokenizer.tokenize("Berlin")[0].startswith("B")
    trained = _weights(tmp_path / "out")["embeddings.word_embeddings.weight"]
    numpy.testing.assert_array_equal(
        encoder.transformer.embeddings.word_embeddings.weight.detach(), trained
    )
    original = torch.load(spanbert_layout / "pytorch_model.bin", weights_only=True)
    assert not torch.equal(original["embeddings.word_embeddings.weight"], trained)


def test_resumed_run_gives_the_weights_of_an_uninterrupted_one(tiny_bert, text_file, tmp_path):
    settings = _settings(tiny_bert, text_file, steps=6)
    pretrain(settings, tmp_path / "whole", save_every=3, progress=False)

    def crash_after_step_4(step: int, losses: Dict[str, float]) -> None:
        if step == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pretrain(
            settings,
            tmp_path / "resumed",
            save_every=3,
            progress=False,
            callback=crash_after_step_4,
        )
    result = pretrain(settings, tmp_path / "resumed", save_every=3, progress=False)
    assert (result.resumed_from, result.steps_done) == (3, 3)
    whole, resumed = _weights(tmp_path / "whole"), _weights(tmp_path / "resumed")
    assert whole.keys() == resumed.keys()
    for name in whole:
        assert torch.equal(whole[name], resumed[name]), name
    heads = "pretraining/checkpoint/heads.safetensors"
    whole_heads = load_file(str(tmp_path / "whole" / heads))
    resumed_heads = load_file(str(tmp_path / "resumed" / heads))
    assert all(torch.equal(whole_heads[name], resumed_heads[name]) for name in whole_heads)
    log = (tmp_path / "resumed" / "pretraining" / "log.jsonl").read_text().splitlines()
    steps = [json.loads(line)["step"] for line in log if "event" not in json.loads(line)]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_finished_run_is_not_redone(tiny_bert, text_file, tmp_path):
    settings = _settings(tiny_bert, text_file, steps=2)
    pretrain(settings, tmp_path, progress=False)
    before = (tmp_path / "model.safetensors").stat().st_mtime_ns
    assert pretrain(settings, tmp_path, progress=False).steps_done == 0
    assert (tmp_path / "model.safetensors").stat().st_mtime_ns == before


def test_output_holding_another_run_is_refused(tiny_bert, text_file, tmp_path):
    pretrain(_settings(tiny_bert, text_file, steps=2), tmp_path, progress=False)
    with pytest.raises(PretrainOutputError, match="masking was 'span', now 'token'"):
        pretrain(
            _settings(tiny_bert, text_file, steps=2, masking="token"), tmp_path, progress=False
        )


def test_output_holding_other_files_is_refused(tiny_bert, text_file, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(PretrainOutputError, match="not empty and holds no pre-training run"):
        pretrain(_settings(tiny_bert, text_file), tmp_path, progress=False)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_empty_and_unusable_texts_are_counted_and_refused(tiny_bert, tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("\n   \nHi\nOk\n", encoding="utf8")
    with pytest.raises(
        NoTrainingDataError, match="4 texts.*2 without wordpieces.*2 too short to mask"
    ):
        pretrain(_settings(tiny_bert, text), tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_skipped_texts_are_counted_beside_the_used_ones(tiny_bert, text_file, tmp_path):
    shards = tmp_path / "shards"
    shards.mkdir()
    shutil.copy(text_file, shards / "a.txt")
    lines = [json.dumps({"text": t}) for t in VOCAB_TEXT] + ["{broken", json.dumps({"body": 1})]
    (shards / "b.jsonl").write_text("\n".join(lines) + "\n", encoding="utf8")
    result = pretrain(
        _settings(tiny_bert, shards, steps=1, warmup=0), tmp_path / "out", progress=False
    )
    n_texts = 8 * len(VOCAB_TEXT) + len(VOCAB_TEXT) + 2
    assert result.counts["texts"] == n_texts and result.counts["unreadable"] == 2
    assert result.counts["sequences"] == n_texts - 2


def test_spacy_docs_are_read_with_their_sentences(tiny_bert, tmp_path):
    nlp = spacy.blank("en")
    docs = [nlp(" ".join(VOCAB_TEXT))]
    for token in docs[0]:
        token.is_sent_start = token.i == 0 or docs[0][token.i - 1].text == "."
    DocBin(docs=docs).to_disk(tmp_path / "docs.spacy")
    result = pretrain(
        _settings(tiny_bert, tmp_path / "docs.spacy", steps=1, warmup=0, max_length=40),
        tmp_path / "out",
        progress=False,
    )
    assert result.counts["texts"] == 1 and result.counts["sequences"] > 1


def test_non_bert_encoder_is_refused(tiny_bert, text_file, tmp_path):
    other = tmp_path / "roberta-like"
    shutil.copytree(tiny_bert, other)
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "model_type": "roberta"}))
    with pytest.raises(UnsupportedEncoderError, match="roberta"):
        pretrain(_settings(other, text_file), tmp_path / "out", progress=False)


def test_command_line(tiny_bert, text_file, tmp_path):
    args = ["pretrain", str(tiny_bert), str(text_file), str(tmp_path / "out")]
    args += ["--steps", "2", "--batch-size", "4", "--max-length", "32", "--masking", "token"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "2 steps" in result.output and (tmp_path / "out" / "model.safetensors").exists()
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "nothing to do" in again.output


def test_long_sentences_are_cut_between_words_to_fit(tiny_bert):
    """A 150-word sentence with 8-wordpiece sequences: every sequence fits, starts on a
    word, and together they hold every wordpiece once, in order."""
    from transformers import BertTokenizerFast

    from spacy_spanbert.pretrain.data import build_sequences

    tokenizer = BertTokenizerFast.from_pretrained(str(tiny_bert))
    text = " ".join(["Madridistas met Stanfordians and Berliners"] * 25)  # words of 2-5 pieces
    path = tiny_bert.parent / "long.txt"
    path.write_text(text + "\n", encoding="utf8")
    sequences, counts = build_sequences(path, tokenizer, max_length=8)
    pieces = tokenizer(text, add_special_tokens=False)
    assert counts.sequences == len(sequences) > 1
    assert all(len(sequence.input_ids) <= 6 for sequence in sequences)
    joined = numpy.concatenate([sequence.input_ids for sequence in sequences])
    numpy.testing.assert_array_equal(joined, pieces["input_ids"])
    starts = numpy.cumsum([0] + [len(sequence.input_ids) for sequence in sequences[:-1]])
    word_ids = numpy.asarray(pieces.word_ids())
    assert all(start == 0 or word_ids[start] != word_ids[start - 1] for start in starts)


def test_empty_text_file_is_refused(tiny_bert, tmp_path):
    text = tmp_path / "empty.txt"
    text.write_text("", encoding="utf8")
    with pytest.raises(NoTrainingDataError, match="gave no sequence to pre-train on \\(0 texts"):
        pretrain(_settings(tiny_bert, text), tmp_path / "out", progress=False)


def test_mixed_precision_without_a_gpu_is_refused(tiny_bert, text_file, tmp_path):
    with pytest.raises(ValueError, match="mixed_precision needs a GPU"):
        pretrain(_settings(tiny_bert, text_file, mixed_precision=True), tmp_path, progress=False)


@pytest.mark.parametrize(
    "overrides,message",
    [({"steps": 0}, "steps must be at least 1"), ({"masking": "word"}, "masking must be one of")],
)
def test_bad_settings_are_refused_before_any_work(
    tiny_bert, text_file, tmp_path, overrides, message
):
    with pytest.raises(ValueError, match=message):
        pretrain(_settings(tiny_bert, text_file, **overrides), tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
