"""`--engine ray`: the same annotation on a Ray cluster, with Ray Data.

Input shards are read one task each, keeping (file, line); an actor pool runs
`map_batches`, each actor loading the pipeline once; the output is written as JSON
lines shards into a directory. Neither input nor output passes through one process.
Ray connects to the cluster at `address`, or starts a local one when it is None.
"""

import json
import os
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

import numpy

from ..input_records import input_format, parse_line, read_input_files, read_lines
from .annotator import annotate_records
from .output import OUTPUT_SUFFIX

try:
    import ray
    from ray.data.block import BlockAccessor
    from ray.data.datasource import BlockBasedFileDatasink
except ImportError as err:  # pragma: no cover - depends on the install
    raise ImportError("--engine ray needs Ray Data: pip install 'spacy-spanbert[ray]'") from err


class PipelineActor:
    """Loads the pipeline once, then annotates the batches it is given."""

    def __init__(self, model: str, key: str, batch_size: int, threads: int) -> None:
        import spacy
        import torch

        # Ray caps a worker's OpenMP threads at 1 unless told; use the CPUs reserved.
        torch.set_num_threads(threads)
        self.nlp = spacy.load(model)
        self.key = key
        self.batch_size = batch_size

    def __call__(self, batch: Dict[str, numpy.ndarray]) -> Dict[str, List[str]]:
        records = [
            parse_line(str(raw), str(fmt), str(name), int(line))
            for name, line, raw, fmt in zip(
                batch["file"], batch["line"], batch["raw"], batch["format"]
            )
        ]
        out = annotate_records(self.nlp, records, key=self.key, batch_size=self.batch_size)
        return {"json": [json.dumps(record, ensure_ascii=False) for record in out]}


class JsonLinesDatasink(BlockBasedFileDatasink):
    """Writes the "json" column, one line per row, one file per block."""

    def __init__(self, path: str) -> None:
        super().__init__(path, file_format=OUTPUT_SUFFIX.lstrip("."))

    def write_block_to_file(self, block: BlockAccessor, file: Any) -> None:
        lines = block.to_arrow().column("json").to_pylist()
        file.write("".join(line + "\n" for line in lines).encode("utf8"))


def annotate_ray(
    model: str,
    input_path: Path,
    output: Path,
    *,
    key: str,
    fmt: str = "auto",
    done: Optional[Set[Tuple[str, int]]] = None,
    batch_size: int = 64,
    num_actors: int = 2,
    num_gpus_per_actor: float = 0.0,
    ray_address: Optional[str] = None,
    num_cpus_per_actor: float = 1.0,
) -> None:
    """Annotate every input shard into JSON lines shards under the `output` directory."""
    if not ray.is_initialized():
        env_vars = _pass_on_env()
        ray.init(address=ray_address, runtime_env={"env_vars": env_vars} if env_vars else None)
    done_ref = ray.put(done or set())
    shards = [
        {"path": str(path.absolute()), "name": name, "format": input_format(path, fmt)}
        for path, name in read_input_files(input_path)
    ]

    def read_shard(shard: Dict[str, Any]) -> List[Dict[str, Any]]:
        skip = ray.get(done_ref)
        return [
            {"file": name, "line": line, "raw": raw, "format": shard["format"]}
            for name, line, raw in read_lines(Path(shard["path"]), shard["name"], fmt)
            if (name, line) not in skip
        ]

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    (
        ray.data.from_items(shards, override_num_blocks=len(shards))
        # Reading and writing are light: they take no CPU slot from the actors, which
        # would otherwise wait for them forever when the actors fill the cluster.
        .flat_map(read_shard, num_cpus=0)
        .map_batches(
            PipelineActor,
            fn_constructor_args=(str(model), key, batch_size, max(1, int(num_cpus_per_actor))),
            batch_size=batch_size,
            compute=ray.data.ActorPoolStrategy(size=num_actors),
            num_cpus=num_cpus_per_actor,
            num_gpus=num_gpus_per_actor or None,
        )
        .write_datasink(
            JsonLinesDatasink(str(output / f"run-{uuid.uuid4().hex[:8]}")),
            ray_remote_args={"num_cpus": 0},
        )
    )


def _pass_on_env() -> Dict[str, str]:
    """Offline settings the workers need as the driver has them."""
    names = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "PYTHONPATH")
    return {name: os.environ[name] for name in names if name in os.environ}
