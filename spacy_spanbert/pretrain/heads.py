"""The two prediction heads of SpanBERT's pre-training, over a BERT encoder's output.

The masked-LM head is BERT's own (`BertOnlyMLMHead`): a transform, then the output
projection tied to the input word embeddings, with its own bias. The span boundary
objective (SBO) head predicts each masked wordpiece from the two wordpieces just
outside its span and its position in the span:

    h = LayerNorm(GeLU(W2 · LayerNorm(GeLU(W1 · [x_{s-1}; x_{e+1}; p_i]))))

then the same tied output projection with the head's own bias. Neither head is needed
to fine-tune: only the encoder is saved as one.
"""

import torch
from torch import nn
from transformers import BertConfig
from transformers.models.bert.modeling_bert import BertOnlyMLMHead

SBO_POSITION_SIZE = 200
SBO_MAX_POSITIONS = 15


class SpanBoundaryHead(nn.Module):
    """Vocabulary logits of masked wordpieces from their span's outer boundaries."""

    def __init__(
        self,
        hidden_size: int,
        word_embeddings: nn.Embedding,
        position_size: int = SBO_POSITION_SIZE,
        max_positions: int = SBO_MAX_POSITIONS,
        layer_norm_eps: float = 1e-12,
    ) -> None:
        super().__init__()
        self.position_embeddings = nn.Embedding(max_positions, position_size)
        self.mlp = nn.Sequential(
            nn.Linear(2 * hidden_size + position_size, hidden_size),
            nn.GELU(),
            nn.LayerNorm(hidden_size, eps=layer_norm_eps),
            nn.Linear(hidden_size, hidden_size),
            nn.GELU(),
            nn.LayerNorm(hidden_size, eps=layer_norm_eps),
        )
        # Tied to the input embeddings, as the masked-LM head's projection is.
        self.word_embeddings = word_embeddings
        self.bias = nn.Parameter(torch.zeros(word_embeddings.num_embeddings))

    def forward(
        self, left: torch.Tensor, right: torch.Tensor, positions: torch.Tensor
    ) -> torch.Tensor:
        """left, right: (targets, hidden) boundary vectors; positions: (targets,) the
        target's place in its span, from 0. Returns (targets, vocabulary) logits."""
        features = torch.cat([left, right, self.position_embeddings(positions)], dim=-1)
        return self.mlp(features) @ self.word_embeddings.weight.T + self.bias


def masked_lm_head(config: BertConfig, word_embeddings: nn.Embedding) -> BertOnlyMLMHead:
    """BERT's masked-LM head, its output projection tied to `word_embeddings`."""
    head = BertOnlyMLMHead(config)
    head.predictions.decoder.weight = word_embeddings.weight
    return head
