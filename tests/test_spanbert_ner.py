import numpy
import pytest
import spacy
from spacy.tokens import DocBin, Span
from thinc.api import SGD

from spacy_spanbert.ner.targets import candidate_targets

from .util import (
    TEXTS,
    TRAIN_DATA,
    inline_encoder,
    make_examples,
    ner_config,
    output_layer,
    predictions,
    spacy_train,
)


def test_fits_training_data_through_spacy_training(trained_nlp):
    scores = trained_nlp.evaluate(make_examples(trained_nlp))
    assert scores["ents_f"] == 1.0
    assert set(scores["ents_per_type"]) == {"PER", "LOC", "ORG"}


def test_scores_are_probabilities_aligned_with_ents(trained_nlp):
    doc = trained_nlp(TEXTS[1])
    group = doc.spans["spanbert_ner"]
    assert [(e.start, e.end, e.label_) for e in group] == [
        (e.start, e.end, e.label_) for e in doc.ents
    ]
    scores = group.attrs["scores"]
    assert len(scores) == len(doc.ents) == 3
    assert numpy.all((scores > 0) & (scores <= 1))


def test_min_label_probability_drops_low_scoring_entities(trained_nlp):
    ner = trained_nlp.get_pipe("spanbert_ner")
    doc = trained_nlp(TEXTS[1])
    lowest = float(doc.spans["spanbert_ner"].attrs["scores"].min())
    ner.cfg["min_label_probability"] = lowest + 1e-6
    try:
        assert len(trained_nlp(TEXTS[1]).ents) == len(doc.ents) - 1
    finally:
        ner.cfg["min_label_probability"] = 0.0


def test_disk_and_bytes_round_trips_predict_identically(trained_nlp, tmp_path):
    expected = predictions(trained_nlp, TEXTS)
    trained_nlp.to_disk(tmp_path / "pipeline")
    assert predictions(spacy.load(tmp_path / "pipeline"), TEXTS) == expected
    nlp2 = spacy.blank("en")
    nlp2.add_pipe("spanbert_ner", config=ner_config(tmp_path / "unused"))
    nlp2.from_bytes(trained_nlp.to_bytes())
    assert predictions(nlp2, TEXTS) == expected


def test_source_into_another_pipeline(trained_nlp):
    other = spacy.blank("en")
    other.add_pipe("sentencizer")
    other.add_pipe("spanbert_ner", source=trained_nlp)
    doc = other("Barack Obama visited Berlin on Monday.")
    assert [(e.text, e.label_) for e in doc.ents] == [("Barack Obama", "PER"), ("Berlin", "LOC")]


def test_empty_and_whitespace_docs(trained_nlp):
    for text in ["", " ", "\n\n"]:
        doc = trained_nlp(text)
        assert doc.text == text
        assert len(doc.ents) == 0
        assert len(doc.spans["spanbert_ner"].attrs["scores"]) == 0


def test_long_document_is_encoded_to_its_end(trained_nlp):
    """Strided windows cover a doc of more than 512 wordpieces: no truncated tail."""
    text = " ".join(TEXTS * 12)
    doc = trained_nlp.make_doc(text)
    assert len(inline_encoder(trained_nlp).tokenizer(text)["input_ids"]) > 512
    vectors = trained_nlp.get_pipe("spanbert_ner").model.get_ref("tok2vec").predict([doc])[0]
    assert vectors.shape[0] == len(doc)
    assert numpy.all(numpy.abs(vectors).sum(axis=1) > 0)


def test_long_document_keeps_entities_in_its_tail(trained_nlp, tiny_bert):
    """With one encoder window per sentence, each sentence of a long doc is read as in
    training, so every entity is found, the last ones included."""
    config = ner_config(tiny_bert)
    config["model"]["tok2vec"]["get_spans"] = {"@span_getters": "spacy-transformers.sent_spans.v1"}
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("spanbert_ner", config=config).from_bytes(
        trained_nlp.get_pipe("spanbert_ner").to_bytes()
    )
    text = " ".join(TEXTS * 12)
    assert len(inline_encoder(nlp).tokenizer(text)["input_ids"]) > 512
    doc = nlp(text)
    expected = []
    offset = 0
    for _ in range(12):
        for sentence, ents in TRAIN_DATA:
            expected.extend((offset + s, offset + e, label) for s, e, label in ents)
            offset += len(sentence) + 1
    assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == expected


def test_preset_entities_are_kept(trained_nlp):
    doc = trained_nlp.make_doc("Barack Obama visited Berlin on Monday.")
    doc.ents = [Span(doc, 0, 1, label="MISC")]  # "Barack" preset, e.g. by an entity_ruler
    doc = trained_nlp.get_pipe("spanbert_ner")(doc)
    assert [(e.text, e.label_) for e in doc.ents] == [("Barack", "MISC"), ("Berlin", "LOC")]
    assert all(token.ent_iob_ in ("B", "I", "O") for token in doc)


def test_entities_stay_inside_sentences(trained_nlp):
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("spanbert_ner", source=trained_nlp)
    doc = nlp("He met Barack Obama. Berlin was cold.")
    for ent in doc.ents:
        assert ent.sent.start <= ent.start and ent.end <= ent.sent.end


def test_no_labels_at_initialize_is_a_clear_error(tiny_bert):
    nlp = spacy.blank("en")
    nlp.add_pipe("spanbert_ner", config=ner_config(tiny_bert))
    examples = make_examples(nlp)[5:6]  # the one sentence without entities
    with pytest.raises(ValueError, match="no entity labels"):
        nlp.initialize(lambda: examples)


def test_labels_given_at_initialize(tiny_bert):
    nlp = spacy.blank("en")
    ner = nlp.add_pipe("spanbert_ner", config=ner_config(tiny_bert))
    ner.initialize(lambda: make_examples(nlp), nlp=nlp, labels=["PER", "LOC", "ORG", "MISC"])
    assert ner.labels == ("PER", "LOC", "ORG", "MISC")
    with pytest.raises(ValueError, match="after initialize"):
        ner.add_label("EVENT")


def test_python_m_spacy_train_fits(tiny_bert, tmp_path):
    nlp = spacy.blank("en")
    docs = [eg.reference for eg in make_examples(nlp)]
    DocBin(docs=docs).to_disk(tmp_path / "train.spacy")
    spacy_train(
        "tests/configs/spanbert_ner_tiny.cfg", tmp_path / "out", tmp_path / "train.spacy", tiny_bert
    )
    trained = spacy.load(tmp_path / "out" / "model-best")
    assert trained.evaluate(make_examples(trained))["ents_f"] == 1.0


def _first_update_delta(tiny_bert, encoder_lr_scale):
    """Change of the output layer's bias, and of an encoder layer, in one SGD update."""
    spacy.util.fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe(
        "spanbert_ner", config={**ner_config(tiny_bert), "encoder_lr_scale": encoder_lr_scale}
    )
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    output = output_layer(nlp)
    # The output layer starts at zero, which would pass no gradient to the encoder.
    output.set_param(
        "W", numpy.random.default_rng(0).normal(size=output.get_param("W").shape).astype("f")
    )
    encoder = inline_encoder(nlp).transformer.encoder.layer[0].output.dense
    bias, weights = output.get_param("b").copy(), encoder.weight.detach().numpy().copy()
    nlp.update(examples, sgd=SGD(0.1))  # plain SGD: the step is lr * scale * gradient
    return output.get_param("b") - bias, encoder.weight.detach().numpy() - weights


def test_encoder_lr_scale_applies_to_the_inline_encoder_only(tiny_bert):
    head_1, encoder_1 = _first_update_delta(tiny_bert, 0.1)
    head_3, encoder_3 = _first_update_delta(tiny_bert, 0.3)
    assert numpy.abs(encoder_1).max() > 1e-5
    # Deltas are differences of float32 weights near 0.05: two ulps (7.5e-9) of slack.
    numpy.testing.assert_allclose(encoder_3, 3 * encoder_1, rtol=1e-4, atol=1e-8)
    numpy.testing.assert_allclose(head_3, head_1, rtol=1e-5)


@pytest.mark.parametrize("factory", ["spanbert_ner", "spanbert"])
@pytest.mark.parametrize("scale", [0.0, -1.0])
def test_encoder_lr_scale_must_be_positive(tiny_bert, factory, scale):
    nlp = spacy.blank("en")
    config = (
        ner_config(tiny_bert) if factory == "spanbert_ner" else {"model": {"name": str(tiny_bert)}}
    )
    with pytest.raises(ValueError, match=f"'{factory}': encoder_lr_scale must be positive"):
        nlp.add_pipe(factory, config={**config, "encoder_lr_scale": scale})


def test_negative_weight_scales_non_entity_candidates_in_the_loss(tiny_bert):
    nlp = spacy.blank("en")
    ner = nlp.add_pipe("spanbert_ner", config=ner_config(tiny_bert))
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    candidates, probs = ner.predict([eg.predicted for eg in examples])
    gradients = {}
    for weight in (1.0, 0.25):
        ner.cfg["negative_weight"] = weight
        _, gradients[weight] = ner.get_loss(examples, (candidates, probs))
    label_map = {label: i for i, label in enumerate(ner.labels)}
    targets, _ = candidate_targets(examples, candidates.dataXd, candidates.lengths, label_map)
    negative = targets == len(ner.labels)
    ratio = gradients[0.25] / gradients[1.0]
    # Positives keep their weight, negatives get a quarter, before the common normalisation.
    numpy.testing.assert_allclose(ratio[negative], 0.25 * ratio[~negative][0, 0], rtol=1e-4)
    numpy.testing.assert_allclose(ratio[~negative], ratio[~negative][0, 0], rtol=1e-4)
    assert ratio[~negative][0, 0] > 1  # the total weight fell, so each positive counts more


def test_negative_weight_must_be_positive(tiny_bert):
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="negative_weight must be positive"):
        nlp.add_pipe("spanbert_ner", config={**ner_config(tiny_bert), "negative_weight": 0.0})


@pytest.mark.issue(5)
@pytest.mark.parametrize("negative_weight", [1.0, 0.25])
def test_initialized_model_predicts_the_weighted_class_prior(tiny_bert, negative_weight):
    """Before any update every candidate gets the smoothed share of its column among
    the training candidates, negatives weighted as the loss weighs them."""
    nlp = spacy.blank("en")
    ner = nlp.add_pipe(
        "spanbert_ner", config={**ner_config(tiny_bert), "negative_weight": negative_weight}
    )
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    candidates, probs = ner.predict([eg.predicted for eg in examples])
    n_candidates = candidates.dataXd.shape[0]
    counts = numpy.asarray(
        [
            sum(e.label_ == label for eg in examples for e in eg.reference.ents)
            for label in ner.labels
        ],
        "f8",
    )
    expected = numpy.append(counts, (n_candidates - counts.sum()) * negative_weight) + 1.0
    numpy.testing.assert_allclose(
        probs, numpy.tile(expected / expected.sum(), (n_candidates, 1)), rtol=1e-5
    )


@pytest.mark.issue(16)
def test_an_entity_whose_probability_is_split_between_labels_is_kept():
    """ "No entity" is weighed against the labels' total: here no single label beats
    it (0.3 < 0.4), but the span is an entity with probability 0.6."""
    from spacy_spanbert.ner.decoding import entity_decisions

    probs = numpy.asarray([[0.3, 0.3, 0.4], [0.1, 0.1, 0.8], [0.7, 0.2, 0.1]], dtype="f")
    best, best_p, entity_p, keep = entity_decisions(
        probs, entity_threshold=0.5, min_label_probability=0.0
    )
    assert keep.tolist() == [True, False, True]
    assert best.tolist() == [0, 0, 0] and best_p.tolist() == pytest.approx([0.3, 0.1, 0.7])
    assert entity_p.tolist() == pytest.approx([0.6, 0.2, 0.9])
    floor = entity_decisions(probs, 0.5, min_label_probability=0.5)[3]
    assert floor.tolist() == [False, False, True]


def _part_trained(tiny_bert):
    spacy.util.fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("spanbert_ner", config=ner_config(tiny_bert))
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(12):  # part-trained: some entities right, some wrong, some missed
        nlp.update(examples, sgd=optimizer)
    return nlp, examples


@pytest.mark.issue(16)
def test_entity_threshold_scores_agree_with_spaCys_scorer(tiny_bert):
    from spacy_spanbert.span_pipe.thresholds import threshold_scores

    nlp, examples = _part_trained(tiny_bert)
    ner = nlp.get_pipe("spanbert_ner")
    results = threshold_scores(nlp, "spanbert_ner", examples, [0.1, 0.3, 0.5, 0.7], batch_size=3)
    assert len({round(r.f, 6) for r in results}) > 1  # the threshold matters here
    for result in results:
        ner.cfg["entity_threshold"] = result.threshold
        scores = nlp.evaluate(examples)
        assert result.p == pytest.approx(scores["ents_p"])
        assert result.r == pytest.approx(scores["ents_r"])
        assert result.f == pytest.approx(scores["ents_f"])
        for label, f in result.per_label.items():
            assert f == pytest.approx(scores["ents_per_type"].get(label, {"f": 0.0})["f"])


def test_thresholds_command_tunes_spanbert_ner(tiny_bert, tmp_path):
    from typer.testing import CliRunner

    from spacy_spanbert.cli import app

    nlp, examples = _part_trained(tiny_bert)
    nlp.to_disk(tmp_path / "pipeline")
    DocBin(docs=[eg.reference for eg in examples]).to_disk(tmp_path / "dev.spacy")
    args = ["thresholds", str(tmp_path / "pipeline"), str(tmp_path / "dev.spacy"), "--steps", "4"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "entity_threshold" in result.output and "Best on" in result.output


@pytest.mark.issue(16)
def test_benchmark_chooses_the_entity_threshold_with_the_best_dev_f(tiny_bert):
    from benchmarks.systems.spacy_pipeline import choose_entity_threshold
    from spacy_spanbert.span_pipe.thresholds import threshold_grid, threshold_scores

    nlp, examples = _part_trained(tiny_bert)
    results = threshold_scores(nlp, "spanbert_ner", examples, threshold_grid(19))
    best_f = max(result.f for result in results)
    assert min(result.f for result in results) < best_f  # the choice matters here
    chosen = choose_entity_threshold(nlp, [eg.reference for eg in examples])
    assert nlp.get_pipe("spanbert_ner").cfg["entity_threshold"] == chosen
    assert nlp.evaluate(examples)["ents_f"] == pytest.approx(best_f)
