"""The encoder's default config block, written once for every component that has one.

The `spanbert` component holds the encoder (`SpanBertEncoder.v1`); `spanbert_ner` and
`spanbert_spancat` hold it inline (`SpanBertTok2Vec.v1`, which adds the pooling of
each token's wordpieces and the gradient factor) until a config gives them a listener.
"""

# The registered names of the encoder and of its inline (tok2vec) form.
ENCODER_ARCHITECTURE = "spacy_spanbert.SpanBertEncoder.v1"
TOK2VEC_ARCHITECTURE = "spacy_spanbert.SpanBertTok2Vec.v1"
DEFAULT_ENCODER_NAME = "SpanBERT/spanbert-base-cased"


def default_encoder_config(section: str, *, inline: bool) -> str:
    """The config of SpanBERT-base in strided windows under `[section]`: the encoder,
    or with `inline` its tok2vec form."""
    architecture = TOK2VEC_ARCHITECTURE if inline else ENCODER_ARCHITECTURE
    inline_settings = "grad_factor = 1.0\n" if inline else ""
    pooling = f'\n[{section}.pooling]\n@layers = "reduce_mean.v1"\n' if inline else ""
    return f"""
[{section}]
@architectures = "{architecture}"
name = "{DEFAULT_ENCODER_NAME}"
tokenizer_config = {{"use_fast": true}}
transformer_config = {{}}
mixed_precision = false
grad_scaler_config = {{}}
{inline_settings}
[{section}.get_spans]
@span_getters = "spacy-transformers.strided_spans.v1"
window = 128
stride = 96
{pooling}"""
