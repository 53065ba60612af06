"""Where a run's time goes, by module, from a cProfile run.

Every Python function's self time counts for its module (`spacy_spanbert.layers`,
`transformers`, `thinc`, ...). A C function (numpy, torch, thinc's compiled ops) has
no module of its own: its time counts for the modules that called it, call site by
call site. The shares add up to the profiled time, and none of it depends on the
names of the functions inside a module.

Self time misses what a module hands to others: the span layers run thinc's Maxout
and Softmax, whose time is thinc's. `seconds_inside` is the inclusive view: the time
from entering a module until leaving it, callees included.
"""

import cProfile
from collections import defaultdict
from pathlib import PurePath
from typing import Dict, Tuple

# A group of modules -> the modules' names (prefixes).
GROUPS: Dict[str, Tuple[str, ...]] = {
    "encoder forward": ("transformers", "torch"),
    "span head": ("spacy_spanbert.layers", "spacy_spanbert.ner", "spacy_spanbert.span_pipe"),
    "wordpieces and alignment": ("tokenizers", "spacy_transformers", "spacy_spanbert.encoder"),
}
OTHER = "rest (spaCy, thinc, Python)"
C_FUNCTION_FILE = "~"


def module_of(filename: str) -> str:
    """`spacy_spanbert.<subpackage>` for this package, the top-level package for an
    installed one, "python" for the standard library.

    A compiled (Cython) module reports its source relative to its package's root
    (`spacy/vocab.pyx`): its first part is the package."""
    path = PurePath(filename)
    if not path.is_absolute() and not filename.startswith("<") and len(path.parts) > 1:
        return path.parts[0]
    parts = path.parts
    if "spacy_spanbert" in parts:
        inside = parts[parts.index("spacy_spanbert") + 1 :]
        return "spacy_spanbert." + inside[0] if len(inside) > 1 else "spacy_spanbert"
    if "site-packages" in parts:
        package = parts[parts.index("site-packages") + 1]
        return package[:-3] if package.endswith(".py") else package
    return "python"


def seconds_by_module(profiler: cProfile.Profile) -> Dict[str, float]:
    """Self time per module, with C functions' time given to their callers' modules."""
    profiler.create_stats()
    stats = profiler.stats
    seconds: Dict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, self_time, _, callers) in stats.items():
        if filename != C_FUNCTION_FILE:
            seconds[module_of(filename)] += self_time
            continue
        for (caller_file, _, _), (_, _, time_from_caller, _) in callers.items():
            owner = "C" if caller_file == C_FUNCTION_FILE else module_of(caller_file)
            seconds[owner] += time_from_caller
    return dict(seconds)


def seconds_inside(profiler: cProfile.Profile, modules: Tuple[str, ...]) -> float:
    """Inclusive time of the calls into these modules (prefixes) from outside them:
    each entry's cumulative time, callees included, counted once however deep the
    modules call each other."""
    profiler.create_stats()
    stats = profiler.stats

    def inside(filename: str) -> bool:
        return filename != C_FUNCTION_FILE and module_of(filename).startswith(modules)

    return sum(
        time_from_caller
        for (filename, _, _), (*_, callers) in stats.items()
        if inside(filename)
        for (caller_file, _, _), (_, _, _, time_from_caller) in callers.items()
        if not inside(caller_file)
    )


def group_shares(seconds: Dict[str, float]) -> Dict[str, float]:
    """Share of the profiled time per group of GROUPS, the rest in OTHER."""
    total = sum(seconds.values())
    shares = dict.fromkeys([*GROUPS, OTHER], 0.0)
    for module, time in seconds.items():
        group = next(
            (name for name, prefixes in GROUPS.items() if module.startswith(prefixes)), OTHER
        )
        shares[group] += time / total
    return shares
