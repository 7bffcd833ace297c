"""SAM's two-way transformer: prompt tokens and image embedding attend to each other."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lamapaint.select.sam.vit import MLPBlock


class Attention(nn.Module):
    """Multi-head attention whose q, k, v are projected to ``dim / downsample`` before the heads split.

    Between a handful of prompt tokens and the 4096 image tokens, projecting the image side is most
    of a click's work. Where the heads times the prompt tokens are fewer than the projection's width,
    the prompt side is folded into the weights instead (the same sums, associated differently): the
    image tokens then meet a (dim, heads * tokens) matrix, not the (dim, inner) projection.
    """

    def __init__(self, dim: int, heads: int, downsample: int = 1) -> None:
        super().__init__()
        inner = dim // downsample
        self.heads = heads
        self.q_proj = nn.Linear(dim, inner)
        self.k_proj = nn.Linear(dim, inner)
        self.v_proj = nn.Linear(dim, inner)
        self.out_proj = nn.Linear(inner, dim)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        return x.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)

    def project(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values projected and split into heads: (B, heads, N, d) each."""
        return self._split(self.k_proj(k)), self._split(self.v_proj(v))

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        inner = self.q_proj.out_features
        if self.heads * k.shape[1] < inner < q.shape[1]:
            return self._attend_few_keys(q, k, v)
        if self.heads * q.shape[1] < inner < k.shape[1]:
            return self._attend_few_queries(q, k, v)
        return self.attend(q, *self.project(k, v))

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Attention of the queries ``q`` over keys and values already projected (``project``)."""
        q = self._split(self.q_proj(q))
        out = nn.functional.scaled_dot_product_attention(q, k, v)
        b, h, n, d = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(b, n, h * d))

    def _attend_few_keys(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Many queries over a few keys (image -> tokens): with K_h, V_h the projected keys and values
        of head h, the scores are q (Wq_h^T K_h^T) + bq_h K_h^T and the output sums P_h (V_h Wo_h^T) over
        the heads, so the queries are never projected, only multiplied by (dim, heads * keys) matrices."""
        b, n, dim = q.shape
        keys, values = self.project(k, v)  # (B, heads, T, d)
        heads, tokens, d = keys.shape[1:]
        scale = d**-0.5
        wq = self.q_proj.weight.view(heads, d, dim)
        to_scores = torch.einsum("hdc,bhtd->bcht", wq, keys).reshape(b, dim, heads * tokens) * scale
        score_bias = torch.einsum("hd,bhtd->bht", self.q_proj.bias.view(heads, d), keys).reshape(b, 1, heads * tokens) * scale
        scores = torch.baddbmm(score_bias, q, to_scores).view(b, n, heads, tokens)
        probs = scores.sub_(scores.amax(dim=-1, keepdim=True)).exp_()  # softmax written out: torch's is 4x slower on rows this short
        probs = probs.div_(probs.sum(dim=-1, keepdim=True))
        wo = self.out_proj.weight.view(dim, heads, d)
        from_probs = torch.einsum("bhtd,chd->bhtc", values, wo).reshape(b, heads * tokens, dim)
        return torch.baddbmm(self.out_proj.bias.expand(b, 1, dim), probs.view(b, n, heads * tokens), from_probs)

    def _attend_few_queries(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """A few queries over many keys (tokens -> image): the scores are (q_h Wk_h) k^T + q_h bk_h and,
        as each row of P sums to 1, P_h (v Wv_h^T + bv_h) = (P_h v) Wv_h^T + bv_h, so the keys and values
        are never projected: they meet (heads * queries, dim) matrices."""
        b, tokens, dim = q.shape
        queries = self._split(self.q_proj(q))  # (B, heads, T, d)
        heads, d = queries.shape[1], queries.shape[3]
        scale = d**-0.5
        wk = self.k_proj.weight.view(heads, d, dim)
        to_scores = torch.einsum("bhtd,hdc->bhtc", queries, wk).reshape(b, heads * tokens, dim) * scale
        score_bias = torch.einsum("bhtd,hd->bht", queries, self.k_proj.bias.view(heads, d)).reshape(b, heads * tokens, 1) * scale
        probs = torch.baddbmm(score_bias, to_scores, k.transpose(1, 2)).softmax(dim=-1)  # (B, heads * T, N)
        pooled = torch.bmm(probs, v).view(b, heads, tokens, dim)
        wv = self.v_proj.weight.view(heads, d, dim)
        out = torch.einsum("bhtc,hdc->bthd", pooled, wv) + self.v_proj.bias.view(heads, d)
        return self.out_proj(out.reshape(b, tokens, heads * d))


class TwoWayAttentionBlock(nn.Module):
    """Token self-attention, tokens->image, MLP on tokens, image->tokens; each followed by a LayerNorm."""

    def __init__(self, dim: int, heads: int, mlp_dim: int, skip_first_pe: bool) -> None:
        super().__init__()
        self.self_attn = Attention(dim, heads)
        self.norm1 = nn.LayerNorm(dim)
        self.cross_attn_token_to_image = Attention(dim, heads, downsample=2)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MLPBlock(dim, mlp_dim, act=nn.ReLU)
        self.norm3 = nn.LayerNorm(dim)
        self.norm4 = nn.LayerNorm(dim)
        self.cross_attn_image_to_token = Attention(dim, heads, downsample=2)
        self.skip_first_pe = skip_first_pe

    def forward(
        self, queries: torch.Tensor, keys: torch.Tensor, query_pe: torch.Tensor, key_pe: torch.Tensor, image: ImageTokens | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``image``: the first block's image side made once per photo (then ``keys`` and ``key_pe`` are its own)."""
        if self.skip_first_pe:
            queries = self.self_attn(queries, queries, queries)
        else:
            q = queries + query_pe
            queries = queries + self.self_attn(q, q, queries)
        queries = self.norm1(queries)
        q = queries + query_pe
        if image is None:
            k = keys + key_pe
            attended = self.cross_attn_token_to_image(q, k, keys)
        else:
            k = image.keys_with_pe
            attended = self.cross_attn_token_to_image.attend(q, image.first_keys, image.first_values)
        queries = self.norm2(queries + attended)
        queries = self.norm3(queries + self.mlp(queries))
        q = queries + query_pe
        keys = self.norm4(keys + self.cross_attn_image_to_token(k, q, queries))
        return queries, keys


@dataclass(frozen=True)
class ImageTokens:
    """The image side of the transformer before any prompt: the embedding (plus the no-mask
    embedding) and its positional encoding as (B, HW, C) tokens, and what the first block's
    token->image attention projects from them. It depends on the photo only, so a predictor makes
    it once and every click starts from it."""

    keys: torch.Tensor
    key_pe: torch.Tensor
    keys_with_pe: torch.Tensor
    first_keys: torch.Tensor
    first_values: torch.Tensor


class TwoWayTransformer(nn.Module):
    """``depth`` two-way blocks, then a final tokens->image attention and LayerNorm."""

    def __init__(self, depth: int = 2, dim: int = 256, heads: int = 8, mlp_dim: int = 2048) -> None:
        super().__init__()
        self.layers = nn.ModuleList(TwoWayAttentionBlock(dim, heads, mlp_dim, skip_first_pe=i == 0) for i in range(depth))
        self.final_attn_token_to_image = Attention(dim, heads, downsample=2)
        self.norm_final_attn = nn.LayerNorm(dim)

    def image_tokens(self, image: torch.Tensor, image_pe: torch.Tensor) -> ImageTokens:
        """(B,C,H,W) image and its PE -> the prompt-independent start (token-major copies, so every add,
        LayerNorm and projection after runs on contiguous rows)."""
        keys = image.flatten(2).transpose(1, 2).contiguous()
        key_pe = image_pe.flatten(2).transpose(1, 2).contiguous()
        keys_with_pe = keys + key_pe
        first_keys, first_values = self.layers[0].cross_attn_token_to_image.project(keys_with_pe, keys)
        return ImageTokens(keys, key_pe, keys_with_pe, first_keys, first_values)

    def forward(self, image: ImageTokens, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Image tokens and (B,T,C) prompt tokens -> (tokens, image tokens (B,HW,C))."""
        keys, key_pe = image.keys, image.key_pe
        queries = tokens
        for i, layer in enumerate(self.layers):
            queries, keys = layer(queries, keys, tokens, key_pe, image if i == 0 else None)
        q, k = queries + tokens, keys + key_pe
        queries = self.norm_final_attn(queries + self.final_attn_token_to_image(q, k, keys))
        return queries, keys
