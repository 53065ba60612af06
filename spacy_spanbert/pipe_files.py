"""Load a component's files so that a missing or damaged file is named in the error.

spaCy's `TrainablePipe.from_disk` lets the reader's own exception through: a truncated
`model` file surfaces as a msgpack or safetensors error deep in thinc, with no path.
Every component of this package reads its files through `NamedFileLoading`.
"""

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Callable, Dict, TypeVar, Union

from spacy import util
from spacy.pipeline.pipe import deserialize_config
from spacy.pipeline.trainable_pipe import TrainablePipe

Reader = Callable[[Path], Any]
Pipe = TypeVar("Pipe", bound=TrainablePipe)


class PipelineFileError(OSError):
    """A component's saved file is missing, truncated or not what it should be."""


class SavedConfigMismatch(ValueError):
    """A component's saved file is intact but can't serve the config it is loaded
    with (raised by a reader, passed on as it is)."""


class NamedFileLoading:
    """A component mixin: `from_disk` names the file that is missing or damaged."""

    def from_disk(self: Pipe, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> Pipe:
        """Load the component; a missing or damaged file is named in the error.

        path (Union[str, Path]): The component's directory.
        exclude (Iterable[str]): Fields not to load.
        RETURNS: The component.
        """
        component_from_disk(self, path, exclude)
        return self


def component_from_disk(
    pipe: TrainablePipe, path: Union[str, Path], exclude: Iterable[str]
) -> None:
    """Read `cfg`, `vocab` and `model` under `path` into `pipe`, as TrainablePipe does."""
    exclude = tuple(exclude)
    readers: Dict[str, Reader] = {
        "cfg": lambda p: pipe.cfg.update(deserialize_config(p)),
        "vocab": lambda p: pipe.vocab.from_disk(p, exclude=exclude),
        "model": lambda p: pipe.model.from_bytes(p.read_bytes()),
    }
    named = {key: _naming_file(pipe.name, key, reader) for key, reader in readers.items()}
    util.from_disk(path, named, exclude)


def _naming_file(component: str, key: str, reader: Reader) -> Reader:
    def read(path: Path) -> Any:
        if key != "vocab" and not path.is_file():
            raise PipelineFileError(
                f"Can't load the component '{component}': its file {path} is missing. "
                "Save the pipeline again with nlp.to_disk, or copy the whole directory."
            )
        try:
            return reader(path)
        except SavedConfigMismatch:
            raise
        except Exception as err:
            raise PipelineFileError(
                f"Can't load the component '{component}' from {path}: the file is "
                f"truncated or damaged ({type(err).__name__}: {err}). Save the pipeline "
                "again with nlp.to_disk, or copy the whole directory."
            ) from err

    return read
