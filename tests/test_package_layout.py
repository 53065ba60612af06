"""The package's rooms: which imports which, where upstream internals are used, what
importing costs, and the map in docs/design.md."""

import re
import subprocess
import sys

import pytest

from .package_map import PACKAGE, design_map, internal_imports, package_map, room, room_graph

# Upstream modules whose names are undocumented: only compat.py may import them.
PRIVATE_UPSTREAM = re.compile(
    r"^\s*(from|import) (spacy_transformers\.(align|truncate|span_getters|util|"
    r"pipeline_component|layers\.hf_shim|layers\.transformer_model)|thinc\.(layers|shims)\.)",
    re.MULTILINE,
)
# Private attributes of upstream objects (HFShim, HFObjects, spaCy's SpanCategorizer).
PRIVATE_ATTRIBUTES = re.compile(
    r"\._(hfmodel|model|grad_scaler|init_\w+|n_labels|require_labels)\b"
)


@pytest.mark.issue(27)
def test_no_component_imports_another_component():
    graph = room_graph()
    assert "spancat" not in graph["ner"] and "ner" not in graph["spancat"], graph


@pytest.mark.issue(27)
def test_data_preparation_and_record_reading_need_no_encoder():
    graph = room_graph()
    assert not graph["corpora"] & {"encoder", "architectures", "compat", "layers"}, graph
    assert "annotate" not in graph["pretrain"], graph
    code = (
        "import sys, spacy_spanbert.corpora, spacy_spanbert.input_records; "
        "print(sorted(m for m in ('transformers', 'spacy_transformers') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"


@pytest.mark.issue(27)
def test_upstream_internals_are_used_in_compat_only():
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "compat.py":
            continue
        text = path.read_text(encoding="utf8")
        assert not PRIVATE_UPSTREAM.search(text), f"{path} imports an upstream internal"
        assert not PRIVATE_ATTRIBUTES.search(text), f"{path} reads an upstream private"


@pytest.mark.issue(27)
def test_fork_handler_is_registered_by_the_first_encoder_not_by_import():
    code = (
        "import spacy_spanbert.ner.component, spacy_spanbert.spancat.component; "
        "import spacy_spanbert.encoder.fork_safety as fork; before = fork._registered; "
        "from spacy_spanbert.architectures import build_spanbert_encoder; "
        "build_spanbert_encoder('unused', lambda docs: []); print(before, fork._registered)"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert ran.stdout.split() == ["False", "True"]


def test_rooms_and_imports_are_read_from_the_source():
    assert room(PACKAGE / "ner" / "component.py") == "ner"
    assert room(PACKAGE / "compat.py") == "compat"
    imports = internal_imports(PACKAGE / "ner" / "component.py")
    assert {"span_pipe", "span_pipe.decisions", "ner.decoding"} <= imports


def test_design_map_is_current():
    assert design_map() == package_map(), (
        "docs/design.md's package map is out of date: run python -m tests.package_map"
    )
