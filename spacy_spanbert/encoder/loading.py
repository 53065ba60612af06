"""Load a BERT-family encoder, correcting what the SpanBERT hub repository gets wrong.

`SpanBERT/spanbert-base-cased` ships `config.json` (without `model_type`) and `vocab.txt`
but no tokenizer config, so `AutoTokenizer` lowercases the input (`do_lower_case=True`)
and sets no maximum length (`model_max_length` of about 1e30). SpanBERT is cased, with
512 positions. Here the casing is read off the vocabulary itself and the maximum length
off the model's position embeddings, whatever the directory holds.
"""

from pathlib import Path
from typing import Any, Dict, Union

import torch
from safetensors import safe_open
from thinc.api import get_torch_default_device
from transformers import BertConfig, BertModel, BertTokenizer, BertTokenizerFast, PretrainedConfig
from transformers.utils import cached_file

from ..compat import HFObjects

SUPPORTED_MODEL_TYPES = ("bert",)
WEIGHTS_FILES = ("model.safetensors", "pytorch_model.bin")
SPECIAL_PIECE_PREFIX = "["


class EncoderLoadError(OSError):
    """The encoder's files could not be found or read."""


class UnsupportedEncoderError(ValueError):
    """The model is not one this encoder can run (it is not BERT-family)."""


def load_encoder(
    name: Union[str, Path],
    tokenizer_config: Dict[str, Any],
    transformer_config: Dict[str, Any],
) -> HFObjects:
    """Load tokenizer and transformer for `name`, a local directory or a hub id."""
    source = _resolve_source(name)
    config = _load_config(source, transformer_config)
    vocab_path = _guarded(source, lambda: cached_file(source, "vocab.txt"))
    tokenizer = _load_tokenizer(source, config, vocab_path, tokenizer_config)
    transformer = _guarded(source, lambda: BertModel.from_pretrained(source, config=config))
    transformer.to(get_torch_default_device())
    return HFObjects(tokenizer, transformer, Path(vocab_path).read_bytes())


def load_prefixed_tensors(name: Union[str, Path], prefix: str) -> Dict[str, torch.Tensor]:
    """The checkpoint's tensors named `prefix...`, without the prefix; none if it has
    none or no single weights file. BERT checkpoints keep their pre-training heads
    there (e.g. "cls.predictions." for the masked-LM head)."""
    source = _resolve_source(name)
    for filename in WEIGHTS_FILES:
        try:
            path = cached_file(source, filename)
        except OSError:
            continue
        if path is None:
            continue
        if filename.endswith(".safetensors"):
            with safe_open(path, framework="pt") as weights:
                names = [key for key in weights.keys() if key.startswith(prefix)]
                return {key[len(prefix) :]: weights.get_tensor(key) for key in names}
        state = torch.load(path, map_location="cpu", weights_only=True)
        return {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}
    return {}


def vocab_is_cased(vocab_path: Union[str, Path]) -> bool:
    """True if any ordinary (non-bracketed) wordpiece has an upper-case letter."""
    with open(vocab_path, encoding="utf8") as file_:
        for line in file_:
            piece = line.rstrip("\n")
            if not piece.startswith(SPECIAL_PIECE_PREFIX) and piece != piece.lower():
                return True
    return False


def _resolve_source(name: Union[str, Path]) -> str:
    path = Path(name).expanduser()
    if path.exists():
        return str(path.absolute())
    text = str(name)
    if text.startswith((".", "/", "~")) or text.count("/") > 1 or "\\" in text:
        raise EncoderLoadError(
            f"Can't load the encoder '{text}': the local directory {path.absolute()} "
            "does not exist. Set the model's `name` to a directory holding "
            "config.json, vocab.txt and the weights, or to a Hugging Face hub id."
        )
    return text


def _guarded(source: str, load: Any) -> Any:
    """Run a from_pretrained call; turn its many failure types into one clear error."""
    try:
        return load()
    except (OSError, ValueError) as err:
        if isinstance(err, UnsupportedEncoderError):
            raise
        reason = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        if Path(source).is_dir():
            raise EncoderLoadError(
                f"Can't load the encoder from the directory {source}: {reason}. It needs "
                "config.json, vocab.txt and the weights (model.safetensors or "
                "pytorch_model.bin)."
            ) from err
        raise EncoderLoadError(
            f"Can't load the encoder '{source}'. Tried: a local directory of that name "
            f"(not found in {Path.cwd()}), then the Hugging Face hub id '{source}' "
            f"({reason}). "
            "To fix: download the model where there is network access "
            f"(`huggingface-cli download {source} --local-dir DIR`) and set the "
            "model's `name` to DIR, or set HF_HUB_OFFLINE=1 to use a populated "
            "Hugging Face cache."
        ) from err


def _load_config(source: str, transformer_config: Dict[str, Any]) -> BertConfig:
    config_dict, _ = _guarded(source, lambda: PretrainedConfig.get_config_dict(source))
    # SpanBERT's config.json has no model_type; it is a BERT architecture.
    model_type = config_dict.get("model_type", "bert")
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise UnsupportedEncoderError(
            f"The encoder '{source}' is a '{model_type}' model; spacy-spanbert runs "
            f"BERT-family encoders ({', '.join(SUPPORTED_MODEL_TYPES)}) such as "
            "SpanBERT. For other transformers use spacy-transformers' own "
            "`transformer` component."
        )
    settings = {**transformer_config, "return_dict": True}
    return _guarded(source, lambda: BertConfig.from_pretrained(source, **settings))


def _load_tokenizer(
    source: str, config: BertConfig, vocab_path: str, tokenizer_config: Dict[str, Any]
) -> Union[BertTokenizer, BertTokenizerFast]:
    settings = dict(tokenizer_config)
    use_fast = settings.pop("use_fast", True)
    settings.setdefault("do_lower_case", not vocab_is_cased(vocab_path))
    settings["model_max_length"] = min(
        settings.get("model_max_length", config.max_position_embeddings),
        config.max_position_embeddings,
    )
    tokenizer_cls = BertTokenizerFast if use_fast else BertTokenizer
    tokenizer = _guarded(source, lambda: tokenizer_cls.from_pretrained(source, **settings))
    if len(tokenizer) > config.vocab_size:
        raise UnsupportedEncoderError(
            f"The tokenizer of '{source}' has {len(tokenizer)} pieces but the model's "
            f"embedding table has {config.vocab_size} rows: vocab.txt does not belong "
            "to these weights."
        )
    return tokenizer
