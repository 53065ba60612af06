"""The code blocks of README.md and docs/*.md work as written: configs parse, hold no
inline comments and build; Python runs; shell commands name commands, flags and vars
that exist. Each block is a test named FILE:LINE (its opening fence).

Markers after a fence's language opt a block out, and should stay rare:
```ini no-resolve``` (parsed and checked, not built) and ```python needs-model```
(compiled, not run). How each kind is checked: doc_blocks.py. Full configs in
configs/ are tested in test_configs.py.
"""

import re
from pathlib import Path
from typing import List

import pytest
from catalogue import RegistryError
from confection import ConfigValidationError

from .doc_blocks import (
    Block,
    check_shell_block,
    extract_blocks,
    inline_comments,
    parse_config,
    resolve_config_block,
    run_python_block,
    unknown_markers,
)
from .util import ROOT

DOCS = [ROOT / "README.md", *sorted(ROOT.glob("docs/*.md"))]
BLOCKS = [
    block
    for path in DOCS
    for block in extract_blocks(path.read_text(encoding="utf8"), str(path.relative_to(ROOT)))
    if block.kind is not None
]


def _params(kind: str) -> list:
    return [pytest.param(block, id=block.id) for block in BLOCKS if block.kind == kind]


def test_docs_have_blocks_of_each_kind():
    """Guards the extraction: if it found nothing, every test below would pass."""
    assert {"config", "python", "shell"} <= {block.kind for block in BLOCKS}


@pytest.mark.parametrize("block", _params("config"))
def test_config_block(block: Block, tiny_bert: Path):
    problems = unknown_markers(block) + inline_comments(block)
    assert not problems, "\n".join(problems)
    parse_config(block)
    if "no-resolve" not in block.markers:
        resolve_config_block(block, tiny_bert)


@pytest.mark.parametrize("block", _params("python"))
def test_python_block(block: Block, tiny_bert: Path, tmp_path: Path, monkeypatch):
    """Run in an empty directory, so a block can't lean on files a project run left."""
    assert not unknown_markers(block), "\n".join(unknown_markers(block))
    monkeypatch.chdir(tmp_path)
    run_python_block(block, tiny_bert)


@pytest.mark.parametrize("block", _params("shell"))
def test_shell_block(block: Block):
    problems = unknown_markers(block) + check_shell_block(block, ROOT)
    assert not problems, "\n".join(problems)


# The checks bite: synthetic Markdown with one fault each, and the same without it.


def test_blocks_are_extracted_with_their_lines():
    markdown = (
        "# Title\n\n- a list item:\n\n  ```ini no-resolve\n  [x]\n  a = 1\n  ```\n\n"
        "~~~python\nx = '```'\n~~~\n\n```\nno language\n```\n"
    )
    blocks = [(b.id, b.kind, b.markers, b.text) for b in extract_blocks(markdown, "m.md")]
    assert blocks == [
        ("m.md:5", "config", ("no-resolve",), "[x]\na = 1\n"),
        ("m.md:10", "python", (), "x = '```'\n"),
        ("m.md:14", None, (), "no language\n"),
    ]


CONFIG_WITH_COMMENT = """
```ini
[components.spanbert_ner]
factory = "spanbert_ner"
entity_threshold = 0.5   # choose it on dev
```
"""

GOOD_CONFIG = """
```ini
[components.spanbert_spancat]
factory = "spanbert_spancat"
# a comment on its own line is fine
threshold = 0.5
spans_key = "a #1 key"

[components.spanbert_spancat.model]
@architectures = "spacy_spanbert.SpanBoundaryCategorizer.v1"
max_span_width = 4

[training.batcher]
@batchers = "spacy.batch_by_words.v1"
size = 500
tolerance = 0.2
```
"""


def _one(markdown: str) -> Block:
    (block,) = extract_blocks(markdown, "synthetic.md")
    return block


@pytest.mark.parametrize(
    "markdown,expected",
    [
        (CONFIG_WITH_COMMENT, ["synthetic.md:2 (block line 3, file line 5): inline comment"]),
        ("```ini\n[components.x]  # the component\n```\n", ["inline comment"]),
        (GOOD_CONFIG, []),
    ],
)
def test_inline_comments_are_found(markdown: str, expected: List[str]):
    problems = inline_comments(_one(markdown))
    assert len(problems) == len(expected)
    for problem, part in zip(problems, expected):
        assert part in problem, problem


def test_a_good_fragment_is_built(tiny_bert: Path):
    resolve_config_block(_one(GOOD_CONFIG), tiny_bert)


@pytest.mark.parametrize(
    "setting,error",
    [
        ("no_such_setting = 1", ConfigValidationError),
        (
            '[components.spanbert_ner.model]\n@architectures = "spacy_spanbert.NoSuch.v1"',
            RegistryError,
        ),
        (
            '[training.batcher]\n@batchers = "spacy.batch_by_words.v1"\nno_such = 1',
            ConfigValidationError,
        ),
    ],
)
def test_a_bad_fragment_fails(setting: str, error: type, tiny_bert: Path):
    markdown = f'```ini\n[components.spanbert_ner]\nfactory = "spanbert_ner"\n{setting}\n```\n'
    with pytest.raises(error):
        resolve_config_block(_one(markdown), tiny_bert)


@pytest.mark.parametrize(
    "command,expected",
    [
        ("spacy project run no-such-command", "no command or workflow"),
        ("python -m spacy project run all . --vars.no_such_var 1", "no var 'no_such_var'"),
        ("spacy project run all --vars.corpus.deeper x", "no var 'corpus.deeper'"),
        ("spacy project run all --forse", "no option --forse"),
        ("python -m spacy_spanbert no-such-command X", "no command 'no-such-command'"),
        ("python -m spacy_spanbert annotate M I O --engin ray", "no option --engin"),
        ("python -m spacy_spanbert annotate M I", "2 arguments, annotate needs 3"),
        ("python -m spacy_spanbert span-widths A B C", "takes at most 2"),
        ("python -m benchmarks.no_such_benchmark --x 1", "no module benchmarks.no_such"),
        ("python -m benchmarks.tuning DIR --no-such-flag", "no option --no-such-flag"),
        ("python -m benchmarks.tuning DIR --corpus wnut17", "missing option --epochs"),
        ("make no-such-target", "no make target 'no-such-target'"),
        ("cd x && make no-such-target  # comment", "no make target"),
    ],
)
def test_bad_commands_are_found(command: str, expected: str):
    problems = check_shell_block(_one(f"```bash\n{command}\n```\n"), ROOT)
    assert len(problems) == 1 and expected in problems[0], problems


@pytest.mark.parametrize(
    "markdown",
    [
        "```bash\nspacy project run all . --vars.corpus conll2003 --force\n```\n",
        "```sh\nHF_HUB_OFFLINE=1 python -m spacy_spanbert pretrain \\\n"
        "    ENCODER TEXT OUTPUT --no-mixed-precision --steps=10 --gpu-id -1 [OPTIONS]\n```\n",
        "```bash\npython -m spacy_spanbert annotate MODEL INPUT OUTPUT [--engine local|ray]\n```\n",
        "```console\n$ python -m spacy_spanbert thresholds MODEL DEV.spacy --steps 9\n"
        "python -m spacy_spanbert output-is-not-a-command\n```\n",
        "```bash\npip install -e . && git status; make test\n```\n",
    ],
)
def test_good_commands_pass(markdown: str):
    problems = check_shell_block(_one(markdown), ROOT)
    assert problems == [], problems


@pytest.mark.parametrize(
    "markdown,error",
    [
        ("```python needs-model\nimport spacy\nnlp = spacy.load(\n```\n", SyntaxError),
        ("```python\nraise KeyError('line 3')\n```\n", KeyError),
        ("```pycon\n>>> x = (\n```\n", SyntaxError),
    ],
)
def test_bad_python_fails(markdown: str, error: type, tiny_bert: Path):
    with pytest.raises(error):
        run_python_block(_one(markdown), tiny_bert)


@pytest.mark.parametrize(
    "markdown,problem",
    [
        ("```python needs_model\nx = 1\n```\n", "unknown marker 'needs_model'"),
        ("```ini needs-model\n[x]\n```\n", "unknown marker 'needs-model' on a ini block"),
        ("```bash no-resolve\nls\n```\n", "(known: none)"),
    ],
)
def test_unknown_markers_are_found(markdown: str, problem: str):
    (found,) = unknown_markers(_one(markdown))
    assert problem in found


def test_python_runs_with_the_tiny_encoder(tiny_bert: Path):
    """A hub id in a block is replaced; error line numbers are the Markdown file's."""
    markdown = (
        "text\n```python\nimport spacy\nnlp = spacy.blank('en')\n"
        'nlp.add_pipe("spanbert_ner", config={"model": {"tok2vec": '
        '{"name": "SpanBERT/spanbert-base-cased"}}})\n'
        'tok2vec = nlp.config["components"]["spanbert_ner"]["model"]["tok2vec"]\n'
        'assert "spanbert-base" not in tok2vec["name"]\n1 / 0\n```\n'
    )
    with pytest.raises(ZeroDivisionError) as error:
        run_python_block(_one(markdown), tiny_bert)
    assert error.traceback[-1].lineno + 1 == 8


def test_readme_results_figures_are_in_results_md():
    """Every measured figure of the README's results summary (decimals and thousands)
    is one that benchmarks/RESULTS.md records, so the summary can't drift from it."""
    readme = (ROOT / "README.md").read_text()
    summary = readme.split("## Results", 1)[1].split("\n## ", 1)[0]
    results = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    figures = set(re.findall(r"\d+\.\d+|\d{1,3}(?:,\d{3})+", summary))
    assert len(figures) > 10
    assert sorted(f for f in figures if f not in results) == []
