"""The benchmarks import as a package, and the profile split attributes time by module."""

import cProfile
import importlib
import json
import pstats
from pathlib import Path
from typing import Any, Dict

import pytest

from benchmarks.profiling import (
    GROUPS,
    OTHER,
    group_shares,
    module_of,
    seconds_by_module,
    seconds_inside,
)

from .util import TEXTS

ROOT = Path(__file__).resolve().parent.parent
# Every module of the suite, the systems' scripts included.
MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts)
    for path in [*ROOT.glob("benchmarks/*.py"), *ROOT.glob("benchmarks/systems/*.py")]
    if path.name != "__init__.py"
)


@pytest.mark.parametrize("name", MODULES)
def test_benchmark_modules_import(name):
    importlib.import_module(name)


def test_module_of_names_packages_and_subpackages():
    root = "/x/site-packages"
    assert module_of("/repo/spacy_spanbert/layers/span_rows.py") == "spacy_spanbert.layers"
    assert module_of("/repo/spacy_spanbert/architectures.py") == "spacy_spanbert"
    assert module_of(f"{root}/transformers/models/bert/modeling_bert.py") == "transformers"
    assert module_of(f"{root}/six.py") == "six"
    assert module_of("/usr/lib/python3.11/json/decoder.py") == "python"
    assert module_of("<frozen abc>") == "python"


def test_module_of_names_compiled_modules_by_their_package():
    # Cython reports a compiled module's source relative to its package's root.
    assert module_of("spacy/tokenizer.pyx") == "spacy"
    assert module_of("thinc/backends/numpy_ops.pyx") == "thinc"
    assert module_of("spacy_transformers/align.pyx") == "spacy_transformers"


def test_profile_of_spanbert_ner_splits_all_its_time(trained_nlp):
    list(trained_nlp.pipe(TEXTS))
    profiler = cProfile.Profile()
    profiler.enable()
    list(trained_nlp.pipe(TEXTS * 4, batch_size=8))
    profiler.disable()
    seconds = seconds_by_module(profiler)
    shares = group_shares(seconds)
    assert set(shares) == {*GROUPS, OTHER}
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["encoder forward"] > 0 and shares["span head"] > 0
    assert seconds["spacy_spanbert.layers"] > 0 and seconds["torch"] > 0


def _function_in(filename: str, source: str, namespace: Dict[str, Any]) -> None:
    """Define a function as if it were written in `filename` (cProfile keys by it)."""
    exec(compile(source, filename, "exec"), namespace)


def test_seconds_inside_counts_callees_and_nested_entries_once():
    layers = "/repo/spacy_spanbert/layers/toy.py"
    namespace: Dict[str, Any] = {}
    _function_in(
        "/x/site-packages/thinc/toy.py",
        "def work():\n    return sum(i * i for i in range(20000))\n",
        namespace,
    )
    _function_in(
        layers,
        "def inner():\n    return work()\n\ndef outer_layer():\n    return inner() + work()\n",
        namespace,
    )
    _function_in(
        "/x/site-packages/spacy/toy.py",
        "def caller():\n    return outer_layer() + work()\n",
        namespace,
    )
    profiler = cProfile.Profile()
    profiler.enable()
    namespace["caller"]()
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    cumulative = {name: entry[3] for (file, _, name), entry in stats.items() if file == layers}
    inside = seconds_inside(profiler, ("spacy_spanbert.layers",))
    # outer_layer's whole time, thinc's work included; inner (nested) not added again.
    assert inside == pytest.approx(cumulative["outer_layer"])
    assert inside > seconds_by_module(profiler)["spacy_spanbert.layers"]


def test_memory_per_update_logs_each_update_and_sums_up_by_epoch(tmp_path, monkeypatch):
    """Per epoch: the largest RSS before an update, the peak at its last update.
    (RSS is scripted: the allocator may reuse resident memory, so real growth is not
    something a test can count on.)"""
    from spacy.util import registry

    import benchmarks.memory as memory

    log = tmp_path / "run" / "memory_log.jsonl"
    config = {"cb": {"@callbacks": "benchmarks.memory_per_update.v1", "path": str(log)}}
    sample = registry.resolve(config)["cb"]
    sample(None, {"epoch": 0, "step": 0})  # a real reading from /proc
    real = json.loads(log.read_text())
    assert real["rss_mib"] > 0 and real["peak_mib"] >= real["rss_mib"]
    log.unlink()
    rss = iter([100.0, 300.0, 200.0, 150.0, 400.0, 350.0])
    peaks = iter([120.0, 310.0, 320.0, 330.0, 420.0, 450.0])
    monkeypatch.setattr(memory, "current_rss_mib", lambda: next(rss))
    monkeypatch.setattr(memory, "peak_rss_mib", lambda: next(peaks))
    for step, epoch in enumerate([0, 0, 0, 1, 1, 1]):
        sample(None, {"epoch": epoch, "step": step})
    assert len(log.read_text().splitlines()) == 6
    assert memory.memory_by_epoch(log) == [
        {"epoch": 0, "rss_mib": 300.0, "peak_mib": 320.0},
        {"epoch": 1, "rss_mib": 400.0, "peak_mib": 450.0},
    ]


def test_memory_per_update_with_trim_logs_trimmed_rss_and_python_objects(tmp_path):
    from spacy.util import registry

    log = tmp_path / "memory_log.jsonl"
    config = {"@callbacks": "benchmarks.memory_per_update.v1", "path": str(log), "trim": True}
    sample = registry.resolve({"cb": config})["cb"]
    kept = [bytearray(1 << 16) for _ in range(200)]  # ~13 MiB of small blocks
    del kept  # freed, possibly kept by the allocator
    sample(None, {"epoch": 0, "step": 0})
    record = json.loads(log.read_text())
    assert 0 < record["trimmed_rss_mib"] <= record["rss_mib"]
    assert record["python_objects"] > 1000


def test_seeds_table_gives_mean_and_half_range_per_system():
    from benchmarks.compare import TUNED, seeds_table

    def scores(dev_f: float, test_f: float) -> Dict[str, Any]:
        return {"dev": {"f": dev_f}, "test": {"p": 0.5, "r": 0.5, "f": test_f}}

    def run(dev_f: float, test_f: float, seconds: float, tuned_f: float) -> Dict[str, Any]:
        train = {"seconds_per_epoch": seconds, "peak_rss_mib": 1024.0 * seconds / 100}
        tuned = {"entity_threshold": 0.2, **scores(dev_f, tuned_f)}
        return {"train": train, "evaluate": scores(dev_f, test_f), TUNED: tuned}

    results = {
        "accuracy": {
            "wnut17": {
                "0": {"spanbert_ner": run(0.5, 0.40, 100, 0.44)},
                "1": {"spanbert_ner": run(0.6, 0.42, 120, 0.46)},
            }
        },
        # Words/s of the speed corpus' first seed, batch 32 in file order.
        "speed_corpus": "wnut17",
        "speed": {
            "spanbert_ner": {
                "speed": {
                    "rows": [
                        {"batch_size": 32, "bucketed": True, "words_per_s": 3000.0},
                        {"batch_size": 32, "bucketed": False, "words_per_s": 2500.0},
                        {"batch_size": 1, "bucketed": False, "words_per_s": 700.0},
                    ]
                }
            }
        },
    }
    table = seeds_table(results).splitlines()
    assert table[2].split(" | ")[1:] == [
        "spanbert_ner",
        "2",
        "55.0 ± 5.0",
        "50.0 ± 0.0",
        "50.0 ± 0.0",
        "41.0 ± 1.0",
        "100-120",
        "1.20",
        "2,500 |",
    ]
    assert table[3].split(" | ")[1:4] == ["spanbert_ner, τ from dev", "2", "55.0 ± 5.0"]
    assert table[3].split(" | ")[6] == "45.0 ± 1.0"
    assert table[3].split(" | ")[-1] == "2,500 |"
    results["speed_corpus"] = "conll2003"  # speed measured on another corpus: blank here
    assert seeds_table(results).splitlines()[2].endswith("| 1.20 |  |")


def test_recipes_become_each_systems_own_training_options():
    from pathlib import Path

    from benchmarks.suite import SYSTEMS, Recipe

    ours = SYSTEMS["spanbert_ner"].rate_args(Recipe(1e-4, 1e-3))
    assert ours == [
        "--learn-rate",
        "0.001",
        "--set",
        "components.spanbert_ner.encoder_lr_scale=0.1",
    ]
    assert SYSTEMS["hf_token_classification"].rate_args(Recipe(2e-4)) == ["--learn-rate", "0.0002"]
    gliner = SYSTEMS["gliner"].rate_args(Recipe(1e-4, 5e-4))
    assert gliner == ["--learn-rate", "0.0001", "--head-learn-rate", "0.0005"]
    paths = [Path("train.spacy"), Path("dev.spacy"), Path("out")]
    plain = SYSTEMS["span_marker"].train_command(*paths, Recipe(1e-4))
    context = SYSTEMS["span_marker_context"].train_command(*paths, Recipe(1e-4))
    assert context == plain + ["--context"] and "--context" not in plain
    ours = SYSTEMS["spanbert_ner"].train_command(*paths, Recipe(1e-4, 1e-3))
    assert ours[ours.index("train") + 1].endswith("configs/spanbert_ner.cfg")
    # Each system's default recipe comes first; run folders tell recipes apart.
    assert SYSTEMS["spanbert_ner"].grid[0] == Recipe(5e-5, 1e-3)
    slugs = [recipe.slug for system in SYSTEMS.values() for recipe in system.grid]
    assert len(set(slugs)) == len(
        {(r.encoder_lr, r.head_lr) for s in SYSTEMS.values() for r in s.grid}
    )
    assert Recipe.from_json(Recipe(1e-4, 1e-3).to_json()) == Recipe(1e-4, 1e-3)


@pytest.mark.issue(26)
def test_recipe_settings_go_to_the_component_that_owns_the_encoder():
    from benchmarks.suite import Recipe, config_path, recipe_overrides

    rate = "training.optimizer.learn_rate.initial_rate"
    ner = recipe_overrides(config_path("spanbert_ner"), Recipe(1e-4, 1e-3))
    assert ner == {rate: 1e-3, "components.spanbert_ner.encoder_lr_scale": pytest.approx(0.1)}
    for name in ("spanbert_spancat", "spanbert_joint", "spancat", "spancat_mean_max"):
        settings = recipe_overrides(config_path(name), Recipe(2e-4, 1e-3))
        assert settings["components.spanbert.encoder_lr_scale"] == pytest.approx(0.2), name
    assert recipe_overrides(config_path("spacy_ner"), Recipe(2e-4)) == {rate: 2e-4}
    with pytest.raises(ValueError, match="one component with encoder_lr_scale"):
        recipe_overrides(config_path("spacy_ner"), Recipe(2e-4, 1e-3))


@pytest.mark.issue(26)
def test_gliner_nested_row_runs_its_phases_with_the_options_they_take(tmp_path, monkeypatch):
    """GLiNER's row: train, evaluate and speed commands that its CLI accepts, on the
    row's data, with the same width cap and as many words as the spaCy rows; its
    phases' results become a row of the table."""
    import sys
    from pathlib import Path

    import spacy
    from spacy.tokens import Doc, DocBin

    from benchmarks import nested_spans
    from benchmarks.suite import Recipe

    from .doc_blocks import check_command

    vocab = spacy.blank("en").vocab
    DocBin(docs=[Doc(vocab, words=["w"] * 25) for _ in range(100)]).to_disk(tmp_path / "t.spacy")
    assert nested_spans.gliner_epochs(tmp_path / "t.spacy", 600) == 120  # 300k / 2.5k words
    assert nested_spans.gliner_epochs(tmp_path / "t.spacy", 1) == 1
    commands = []
    phases = {
        "train.json": {
            "updates": 40,
            "seconds": 80.0,
            "dev_curve": [{"ents_f": 0.1}, {"ents_f": 0.6}],
        },
        "evaluate.json": {
            "dev": {"p": 0.7, "r": 0.5, "f": 0.58, "per_type": {"DNA": {"p": 1, "r": 1, "f": 0.9}}}
        },
        "speed.json": {
            "rows": [
                {"bucketed": True, "words_per_s": 999.0},
                {"bucketed": False, "words_per_s": 700.0},
            ]
        },
    }

    def run_phase(json_path: Path, command):
        commands.append(command + ["--json-out", str(json_path)])
        return phases[json_path.name]

    monkeypatch.setattr(nested_spans, "run_phase", run_phase)
    monkeypatch.setattr(nested_spans, "PEERS_PYTHON", Path(sys.executable))
    data = {"train": tmp_path / "t.spacy", "heldout": tmp_path / "h.spacy"}
    result = nested_spans.run_row(
        nested_spans.GLINER_ROW, data, tmp_path / "run", 600, 1, "enc", Recipe(1e-4, 5e-4)
    )
    for command in commands:
        assert check_command(command, Path(".").resolve()) == [], command
    train, evaluate, speed = commands
    assert train[train.index("--max-width") + 1] == str(nested_spans.MAX_WIDTH)
    assert train[train.index("--epochs") + 1] == "120" and train[train.index("--seed") + 1] == "1"
    assert train[train.index("--head-learn-rate") + 1] == "0.0005"
    assert str(data["heldout"]) in evaluate and str(data["heldout"]) in speed
    assert all(command[command.index("--spans") + 1] == "sc" for command in commands)
    assert result == {
        "steps": 40, "train_seconds": 80.0, "seconds_per_step": 2.0, "words_per_s": 700.0,
        "spans": {"p": 0.7, "r": 0.5, "f": 0.58, "per_type": {"DNA": 0.9}}, "ents": None,
        "curve": [0.1, 0.6], "recipe": {"encoder_lr": 1e-4, "head_lr": 5e-4},
    }  # fmt: skip
    monkeypatch.setattr(nested_spans, "PEERS_PYTHON", tmp_path / "no-peers" / "python")
    with pytest.raises(Exception, match="make peers"):
        nested_spans.run_row(
            nested_spans.GLINER_ROW, data, tmp_path / "run2", 600, 1, "enc", Recipe(1e-4, 5e-4)
        )


@pytest.mark.issue(26)
def test_nested_rows_are_tuned_on_their_own_f_never_the_heldout_split(tmp_path, monkeypatch):
    """A spaCy row's recipe reaches its training settings; rows are chosen by spans F
    (entities F for the flat-only row) on the tuning split."""
    from pathlib import Path

    from benchmarks import nested_spans
    from benchmarks.suite import Recipe

    commands = []

    def run_phase(json_path: Path, command):
        commands.append(command)
        return {"spans": None, "ents": {"f": 0.5}}

    monkeypatch.setattr(nested_spans, "run_phase", run_phase)
    data = {"train": tmp_path / "a.spacy", "heldout": tmp_path / "b.spacy"}
    name = "spanbert_spancat, softmax"
    nested_spans.run_row(name, data, tmp_path / "r", 600, 0, "enc", Recipe(1e-4, 1e-3))
    settings = json.loads(commands[0][commands[0].index("--overrides") + 1])
    assert settings["training.optimizer.learn_rate.initial_rate"] == 1e-3
    assert settings["components.spanbert.encoder_lr_scale"] == pytest.approx(0.1)
    assert settings["components.spanbert_spancat.model.scorer"] == {"@layers": "Softmax.v2"}
    assert nested_spans.tuned_f({"spans": {"f": 0.7}, "ents": {"f": 0.9}}) == 0.7
    assert nested_spans.tuned_f({"spans": None, "ents": {"f": 0.9}}) == 0.9
    assert nested_spans.grid(nested_spans.GLINER_ROW)[0] == Recipe(5e-5, 2.5e-4)
    assert nested_spans.grid(name)[0] == Recipe(5e-5, 1e-3)  # the configs' own rates


def test_tuning_chooses_by_dev_f_never_test():
    from benchmarks.tuning import best_recipes

    def run(lr: float, dev_f: float, test_f: float) -> Dict[str, Any]:
        scores = {"dev": {"f": dev_f}, "test": {"f": test_f}}
        return {"recipe": {"encoder_lr": lr, "head_lr": None}, "evaluate": scores}

    runs = {"hf": [run(5e-5, 0.80, 0.90), run(1e-4, 0.82, 0.70), run(2e-4, 0.82, 0.95)]}
    assert best_recipes(runs) == {"hf": {"encoder_lr": 1e-4, "head_lr": None}}


def test_tuning_extends_the_grid_past_an_edge_where_the_best_sits():
    """Best at the top: the encoder rate doubles (a shared head rate stays, GLiNER's
    moves with it), until the best is inside or twice; inside: no extension."""
    from benchmarks.suite import SYSTEMS, Recipe
    from benchmarks.tuning import past_the_edge, tune_system

    def fake(dev_f_by_rate: Dict[float, float]):
        ran = []

        def run(recipe: Recipe) -> Dict[str, Any]:
            ran.append(recipe)
            scores = {"dev": {"f": dev_f_by_rate[recipe.encoder_lr]}}
            return {"recipe": recipe.to_json(), "evaluate": scores}

        return ran, run

    ran, run = fake({5e-5: 0.80, 1e-4: 0.85, 2e-4: 0.88, 4e-4: 0.90, 8e-4: 0.91})
    tune_system(SYSTEMS["spanbert_ner"].grid, run)
    assert ran[3:] == [Recipe(4e-4, 1e-3), Recipe(8e-4, 1e-3)]  # twice, then stop
    ran, run = fake({5e-5: 0.80, 1e-4: 0.85, 2e-4: 0.88, 4e-4: 0.86})
    tune_system(SYSTEMS["hf_token_classification"].grid, run)
    assert ran[3:] == [Recipe(4e-4)]  # the best is inside now
    ran, run = fake({5e-5: 0.90, 1e-4: 0.85, 2e-4: 0.80, 2.5e-5: 0.70})
    tune_system(SYSTEMS["gliner"].grid, run)
    assert ran[3:] == [Recipe(2.5e-5, 1.25e-4)]  # low edge, head at 5x
    assert past_the_edge(SYSTEMS["spacy_ner"].grid, Recipe(1e-4)) is None


def test_subsets_keep_whole_documents():
    import spacy
    from spacy.tokens import Doc

    from benchmarks.subsets import whole_documents

    vocab = spacy.blank("en").vocab
    docs = [Doc(vocab, words=["a"]) for _ in range(10)]
    for i, doc in enumerate(docs):
        doc.user_data["document"] = i // 4  # documents of 4, 4 and 2 sentences
    assert len(whole_documents(docs, 5)) == 8
    assert len(whole_documents(docs, 4)) == 4
    assert len(whole_documents(docs, 0)) == 10
    for doc in docs:
        doc.user_data["document"] = 0  # one document (WNUT-17): cut at the count
    assert len(whole_documents(docs, 5)) == 5


def test_span_marker_context_columns_number_sentences_within_documents():
    import spacy
    from spacy.tokens import Doc

    from benchmarks.systems.common import iob2_labels, iob2_tags
    from benchmarks.systems.span_marker import columns, positions

    vocab = spacy.blank("en").vocab
    docs = [Doc(vocab, words=["a", "b"]) for _ in range(5)]
    for doc, document in zip(docs, ["x", "x", "y", "y", "y"]):
        doc.user_data["document"] = document
    assert positions(docs) == [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2)]
    data = columns([["a"]] * 5, positions(docs))
    assert data["document_id"] == [0, 0, 1, 1, 1] and data["sentence_id"] == [0, 1, 0, 1, 2]
    assert "document_id" not in columns([["a"]], None)
    assert iob2_tags(["A", "B", "c"], [(0, 2, "ORG")]) == ["B-ORG", "I-ORG", "O"]
    docs[0].ents = [docs[0].char_span(0, 1, label="PER")]
    docs[1].ents = [docs[1].char_span(0, 1, label="LOC")]
    assert iob2_labels(docs) == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]


@pytest.mark.issue(26)
def test_scores_per_entity_length_agree_with_the_overall_score_and_keep_predictions():
    """Error analysis by length: each gold entity counts in its own length's recall,
    each prediction in its own length's precision; the buckets add up to the overall
    counts, and the predictions come back for later analysis."""
    import spacy
    from spacy.tokens import Doc, Span

    from benchmarks.systems.common import score_entities, score_spans

    vocab = spacy.blank("en").vocab
    words = "Barack Hussein Obama met the New York Stock Exchange chief".split()
    doc = Doc(vocab, words=words)
    doc.ents = [Span(doc, 0, 3, "PER"), Span(doc, 5, 9, "ORG")]
    doc.spans["sc"] = [Span(doc, 0, 3, "PER"), Span(doc, 5, 7, "LOC"), Span(doc, 5, 9, "ORG")]
    # Right: the 3-token person. Wrong label on 4+ tokens; a spurious 1-token one.
    predicted = [[(0, 3, "PER"), (5, 9, "LOC"), (9, 10, "PER")]]
    scores = score_entities([doc], predicted)
    lengths = scores["per_length"]
    assert lengths["3"] == {"p": 1.0, "r": 1.0, "f": 1.0, "gold": 1}
    assert lengths["4+"]["gold"] == 1 and lengths["4+"]["r"] == 0.0 and lengths["4+"]["p"] == 0.0
    assert lengths["1"]["gold"] == 0 and lengths["1"]["p"] == 0.0
    assert lengths["2"]["gold"] == 0
    assert sum(bucket["gold"] for bucket in lengths.values()) == 2
    assert scores["r"] == 0.5 and scores["p"] == pytest.approx(1 / 3)
    assert scores["predicted"] == [[[0, 3, "PER"], [5, 9, "LOC"], [9, 10, "PER"]]]
    # Nested spans: the 2-token LOC inside the ORG is its own length's gold span.
    nested = score_spans([doc], [[(0, 3, "PER"), (5, 7, "LOC")]])
    assert nested["per_length"]["2"] == {"p": 1.0, "r": 1.0, "f": 1.0, "gold": 1}
    assert nested["per_length"]["4+"]["r"] == 0.0 and nested["r"] == pytest.approx(2 / 3)


@pytest.mark.parametrize("chunk_settings", [{}, {"max_tokens": 1, "context": 4}])
def test_schedule_counts_the_updates_spacy_makes_of_documents(tmp_path, chunk_settings):
    """The benchmark's learning-rate schedule spans the epoch spaCy's loop runs: the
    same augmenter and batch lengths, on documents whose words the tokenizer would
    split further ("1996-08-22"). Both in file order: spaCy's shuffled epochs can
    make a few batches more or fewer."""
    from itertools import takewhile

    import spacy
    from spacy.tokens import Doc, DocBin
    from spacy.training.loop import create_train_batches
    from spacy.util import registry

    from benchmarks.systems.common import batches_per_epoch
    from spacy_spanbert.corpora import as_documents

    vocab = spacy.blank("en").vocab
    words = ["Talks", "in", "New-York", "on", "1996-08-22", "ended", "."]
    sentences = [Doc(vocab, words=words[: 3 + i % 5]) for i in range(40)]
    DocBin(docs=as_documents(sentences, group_size=7)).to_disk(tmp_path / "train.spacy")
    augmenter = "corpora.train.augmenter"
    overrides = {f"{augmenter}.{key}": value for key, value in chunk_settings.items()}
    overrides["paths.train"] = overrides["paths.dev"] = str(tmp_path / "train.spacy")
    overrides["training.batcher.size"] = 20
    config = spacy.util.load_config(
        "configs/spanbert_ner_context.cfg", overrides=overrides, interpolate=True
    )
    corpus = registry.resolve(config["corpora"])["train"]  # as spaCy's train resolves it
    batcher = registry.resolve({"batcher": config["training"]["batcher"]})["batcher"]
    streamed = create_train_batches(spacy.blank("en"), corpus, batcher, -1)  # unshuffled
    spacy_batches = list(takewhile(lambda batch: batch[0] == 0, streamed))
    assert batches_per_epoch(tmp_path / "train.spacy", config) == len(spacy_batches) > 1


@pytest.mark.issue(29)
def test_cpu_inference_times_each_system_in_its_own_process(trained_nlp, tmp_path):
    from spacy.tokens import DocBin
    from typer.testing import CliRunner

    from benchmarks.cpu_inference import app

    trained_nlp.to_disk(tmp_path / "pipeline")
    docs = [trained_nlp.make_doc(text) for text in TEXTS * 3]
    DocBin(docs=docs).to_disk(tmp_path / "test.spacy")
    args = ["run", str(tmp_path / "test.spacy"), "--system", f"ours=spacy:{tmp_path / 'pipeline'}"]
    args += ["--batch-sizes", "32", "--passes", "2", "--work", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    passes = [json.loads((tmp_path / f"ours-b32-pass{n}.json").read_text()) for n in range(2)]
    assert [p["words"] for p in passes] == [sum(len(doc) for doc in docs)] * 2
    assert all(p["words_per_s"] > 0 and p["peak_rss_mib"] > 0 for p in passes)
    report = (tmp_path / "results.md").read_text()
    assert "| ours | " in report and "| ours | 1.00× |" in report


@pytest.mark.issue(26)
def test_error_analysis_tells_what_each_system_did_with_long_entities():
    from benchmarks.errors import long_outcomes, outcome, report

    gold = [[(0, 3, "PER"), (5, 9, "ORG"), (10, 13, "LOC"), (14, 17, "LOC"), (20, 24, "ORG")]]
    predicted = [[[0, 3, "PER"], [5, 9, "LOC"], [10, 12, "LOC"], [13, 18, "LOC"], [30, 31, "PER"]]]
    assert outcome(0, 3, "PER", predicted[0]) == "found"
    assert outcome(5, 9, "ORG", predicted[0]) == "wrong label"
    assert outcome(10, 13, "LOC", predicted[0]) == "part of it"
    assert outcome(14, 17, "LOC", predicted[0]) == "crossing or wider"
    assert outcome(20, 24, "ORG", predicted[0]) == "nothing"
    assert long_outcomes(gold, predicted, 4) == {"wrong label": 1, "nothing": 1}
    scores = {
        "f": 0.2,
        "per_type": {"PER": {"f": 1.0}},
        "per_length": {b: {"f": 0.5} for b in ("1", "2", "3", "4+")},
        "predicted": predicted,
    }
    text = report(gold, {"ours": {"test": scores}}, "test", 3)
    assert "| ours | 20.0 | 50.0 | 50.0 | 50.0 | 50.0 | 100.0 |" in text
    assert "the 5 gold entities of 3 or more tokens" in text
    assert "| ours | 1 | 1 | 1 | 1 | 1 |" in text


@pytest.mark.issue(26)
def test_gold_span_scores_are_the_models_own_entity_probabilities(trained_nlp, tmp_path):
    """Spans the pipeline itself kept as entities (at threshold 0.5) score above 0.5."""
    from spacy.tokens import DocBin

    from benchmarks.errors import gold_span_scores

    trained_nlp.to_disk(tmp_path / "model")
    docs = list(trained_nlp.pipe(TEXTS))
    n_entities = sum(len(doc.ents) for doc in docs)
    assert n_entities > 0
    DocBin(docs=docs).to_disk(tmp_path / "gold.spacy")
    table = gold_span_scores(str(tmp_path / "model"), tmp_path / "gold.spacy").splitlines()
    cells = [line.split(" | ") for line in table[2:]]
    assert sum(int(c[1]) for c in cells) == n_entities
    assert all(c[3] == "100.0" for c in cells if int(c[1]) > 0)
