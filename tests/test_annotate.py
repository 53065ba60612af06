"""`python -m spacy_spanbert annotate`: every record kept, errors reported, resumable,
and the Ray engine writing exactly what the local one writes."""

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from spacy_spanbert.annotate import annotate_local
from spacy_spanbert.annotate.output import done_records, output_files
from spacy_spanbert.input_records import read_records

KEY = "annotations"


@pytest.fixture(scope="module")
def pipeline(trained_nlp, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("annotate") / "pipeline"
    trained_nlp.to_disk(path)
    return path


def _input_lines(n: int) -> List[str]:
    """JSON lines with a few broken records and a blank line among good ones."""
    rng = random.Random(0)
    texts = [
        "Barack Obama visited Berlin.",
        "Google opened an office in London.",
        "",
        "😀 東京 \u200b",
        "x",
    ]
    lines = []
    for i in range(n):
        if i % 37 == 5:
            lines.append('{"id": %d, "text": "cut short' % i)  # invalid JSON
        elif i % 53 == 7:
            lines.append(json.dumps({"id": i, "body": "no text field"}))
        elif i % 71 == 9:
            lines.append(json.dumps(["not", "an", "object"]))
        else:
            lines.append(
                json.dumps({"id": i, "text": rng.choice(texts), "meta": {"n": i, "tags": ["a"]}})
            )
        if i == 50:
            lines.append("")  # blank lines are no records
    return lines


@pytest.fixture(scope="module")
def input_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("annotate") / "input.jsonl"
    path.write_text("\n".join(_input_lines(240)) + "\n", encoding="utf8")
    return path


def _records(output: Path) -> List[dict]:
    records = [
        json.loads(line) for path in output_files(output) for line in path.open(encoding="utf8")
    ]
    return sorted(records, key=lambda r: (r[KEY]["file"], r[KEY]["line"]))


def test_local_keeps_every_record_and_field(pipeline, input_file, tmp_path):
    import spacy

    output = tmp_path / "out.jsonl"
    written = annotate_local(
        spacy.load(pipeline), read_records(input_file), output, key=KEY, batch_size=16
    )
    records = _records(output)
    lines = input_file.read_text(encoding="utf8").splitlines()
    record_lines = [i for i, line in enumerate(lines, start=1) if line.strip()]
    assert written == len(records) == len(record_lines) == 240
    assert [r[KEY]["line"] for r in records] == record_lines
    for record in records:
        source = lines[record[KEY]["line"] - 1]
        if "error" in record[KEY]:
            assert "entities" not in record[KEY]
            continue
        assert {k: v for k, v in record.items() if k != KEY} == json.loads(source)
        for ent in record[KEY]["entities"]:
            assert record["text"][ent["start"] : ent["end"]]
            assert 0 < ent["score"] <= 1
    errors = {r[KEY]["line"]: r[KEY]["error"] for r in records if "error" in r[KEY]}
    broken = [r for r in records if r.get("raw", "").startswith('{"id": 5,')]
    assert broken and broken[0][KEY]["error"].startswith(
        f"invalid JSON at input.jsonl:{broken[0][KEY]['line']}:"
    )
    assert len(errors) == sum(1 for i in range(240) if i % 37 == 5 or i % 53 == 7 or i % 71 == 9)
    assert any(r[KEY]["entities"] for r in records if "entities" in r[KEY])


def test_resume_after_a_crash_writes_each_record_once(pipeline, input_file, tmp_path):
    output = tmp_path / "out.jsonl"
    command = [
        sys.executable,
        "-m",
        "spacy_spanbert",
        "annotate",
        str(pipeline),
        str(input_file),
        str(output),
        "--batch-size",
        "16",
    ]
    first = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "words/s" in first.stderr and "240 records, 16 with an error" in " ".join(
        first.stdout.split()
    )
    complete = _records(output)
    # A crash: the last 100 records missing, the one before them cut mid-line.
    lines = output.read_text(encoding="utf8").splitlines(keepends=True)
    output.write_text("".join(lines[:139]) + lines[139][:25], encoding="utf8")
    assert len(done_records(output, KEY)) == 139
    second = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "Resuming: 139 records" in " ".join(second.stdout.split())
    assert _records(output) == complete


def test_plain_text_input_is_one_record_per_line(pipeline, tmp_path):
    import spacy

    source = tmp_path / "input.txt"
    source.write_text(
        "Barack Obama visited Berlin.\n\nGoogle opened an office in London.\n", encoding="utf8"
    )
    annotate_local(spacy.load(pipeline), read_records(source), tmp_path / "out.jsonl", key=KEY)
    records = _records(tmp_path / "out.jsonl")
    assert [(r["text"], r[KEY]["line"]) for r in records] == [
        ("Barack Obama visited Berlin.", 1),
        ("", 2),
        ("Google opened an office in London.", 3),
    ]


def test_ray_engine_writes_what_the_local_engine_writes(pipeline, input_file, tmp_path):
    """Two input shards; the Ray output starts with the first 60 local records, as a
    crashed earlier run would leave it, so the run also goes through the resume path."""
    ray = pytest.importorskip("ray")
    import spacy

    from spacy_spanbert.annotate.ray_engine import annotate_ray

    shards = tmp_path / "shards"
    shards.mkdir()
    lines = input_file.read_text(encoding="utf8").splitlines()
    (shards / "part-0.jsonl").write_text("\n".join(lines[:120]) + "\n", encoding="utf8")
    (shards / "part-1.jsonl").write_text("\n".join(lines[120:]) + "\n", encoding="utf8")
    local = tmp_path / "local.jsonl"
    annotate_local(spacy.load(pipeline), read_records(shards), local, key=KEY, batch_size=16)
    (tmp_path / "ray").mkdir()
    earlier = local.read_text(encoding="utf8").splitlines(keepends=True)[:60]
    (tmp_path / "ray" / "earlier-run.jsonl").write_text("".join(earlier), encoding="utf8")
    done = done_records(tmp_path / "ray", KEY)
    assert len(done) == 60
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        annotate_ray(
            str(pipeline), shards, tmp_path / "ray", key=KEY, done=done, batch_size=16, num_actors=2
        )
    finally:
        ray.shutdown()
    records = _records(tmp_path / "ray")
    assert len(records) == 240
    assert records == _records(local)
