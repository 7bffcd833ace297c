"""Building blocks whose fast paths must not change the arithmetic."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import torch

from lamapaint.select.sam import common, tiny_vit, transformer, vit

if TYPE_CHECKING:
    from lamapaint.select.sam.model import Sam


def _reference_rel_pos_attention(attn: vit.RelPosAttention, x: torch.Tensor) -> torch.Tensor:
    """The reference README's steps 5-7 written out: scaled q k^T plus the unscaled-q rel-pos terms."""
    b, h, w, c = x.shape
    qkv = attn.qkv(x).reshape(b, h * w, 3, attn.heads, -1).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)
    d = q.shape[-1]
    logits = (q * d**-0.5) @ k.transpose(-1, -2)
    index = torch.arange(h)[:, None] - torch.arange(h)[None, :] + h - 1
    rh, rw = attn.rel_pos_h[index], attn.rel_pos_w[index]
    grid = q.reshape(b, attn.heads, h, w, d)
    rel_h = torch.einsum("bnhwc,hkc->bnhwk", grid, rh)
    rel_w = torch.einsum("bnhwc,wkc->bnhwk", grid, rw)
    logits = logits.view(b, attn.heads, h, w, h, w) + rel_h[..., :, None] + rel_w[..., None, :]
    out = logits.view(b, attn.heads, h * w, h * w).softmax(-1) @ v
    return attn.proj(out.view(b, attn.heads, h, w, d).permute(0, 2, 3, 1, 4).reshape(b, h, w, c))


@pytest.mark.parametrize("side", [8, 16])  # head dim 16: side 8 folds the term into the product, 16 adds it
@pytest.mark.parametrize("budget", [1 << 40, 1 << 12])
def test_rel_pos_attention_in_query_chunks_is_the_reference(side: int, budget: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scores are made for a few query rows at a time (cache); any chunking, either way of adding the term, gives the reference."""
    torch.manual_seed(0)
    attn = vit.RelPosAttention(dim=32, heads=2, side=side)
    assert attn.fold_term == (side == 8)
    with torch.no_grad():
        attn.rel_pos_h.normal_(std=0.5)
        attn.rel_pos_w.normal_(std=0.5)
    x = torch.randn(2, side, side, 32)
    monkeypatch.setattr(vit, "_SCORES_PER_STEP", budget)
    with torch.inference_mode():
        torch.testing.assert_close(attn(x), _reference_rel_pos_attention(attn, x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("window", [5, 6])  # 12x12 grid: padded to 15x15, and not padded
def test_windowed_block_projects_only_real_tokens_as_the_reference_pads_zeros(window: int) -> None:
    """The official block pads the normalised grid with zeros, projects and attends in windows, then
    crops; the block here projects real tokens only and pads q, k, v with the bias."""
    torch.manual_seed(3)
    block = vit.Block(32, 2, window=window).eval()
    with torch.no_grad():
        for parameter in block.parameters():
            parameter.normal_(std=0.3)
    x = torch.randn(2, 12, 12, 32)
    with torch.inference_mode():
        padded = common.pad_to_multiple(block.norm1(x), window)
        y = block.attn(common.to_windows(padded, window))
        y = common.from_windows(y, window, padded.shape[1], padded.shape[2])[:, :12, :12, :]
        expected = x + y
        expected = expected + block.mlp(block.norm2(expected))
        torch.testing.assert_close(block(x), expected, atol=1e-5, rtol=1e-5)


def test_patch_embedding_hands_the_blocks_a_contiguous_token_grid() -> None:
    """The residual stream keeps the layout it starts with; a channels-first view slows every norm."""
    embed = vit.PatchEmbed(8).eval()
    with torch.inference_mode():
        tokens = embed(torch.randn(1, 3, 64, 48))
    assert tokens.shape == (1, 4, 3, 8)
    assert tokens.is_contiguous()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
@pytest.mark.parametrize(("pairs", "rows", "h", "w"), [(1, 512, 64, 64), (3, 7, 5, 9)])
def test_position_term_is_rows_plus_columns_to_the_bit(dtype: torch.dtype, pairs: int, rows: int, h: int, w: int) -> None:
    """In reduced precision the sums are made as a rank-1 product (faster there); each must be the
    one rounding of row + column that a broadcast add gives."""
    torch.manual_seed(5)
    rel_h = (torch.randn(pairs, rows, h) * 8).to(dtype)
    rel_w = (torch.randn(pairs, rows, w) * 8).to(dtype)
    with torch.inference_mode():
        term = vit._position_term(rel_h, rel_w)
    assert term.shape == (pairs, rows, h, w) and term.dtype == dtype and term.is_contiguous()
    assert torch.equal(term, rel_h[..., :, None] + rel_w[..., None, :])


def test_sam_windows_fold_the_term_and_the_global_grid_adds_it() -> None:
    assert vit.Block(768, 12, window=14).attn.fold_term
    assert not vit.Block(768, 12, window=0).attn.fold_term


def test_tiny_vit_bias_index_numbers_offsets_in_first_met_order() -> None:
    index = tiny_vit.bias_index(2)
    # points (0,0), (0,1), (1,0), (1,1): offsets (0,0)->0, (0,1)->1, (1,0)->2, (1,1)->3
    assert index.tolist() == [[0, 1, 2, 3], [1, 0, 3, 2], [2, 3, 0, 1], [3, 2, 1, 0]]
    assert int(tiny_vit.bias_index(7).max()) == 48 and int(tiny_vit.bias_index(14).max()) == 195


def test_tiny_vit_attention_biases_are_read_after_loading() -> None:
    """No stale bias table: new attention_biases loaded into an eval model change the output."""
    torch.manual_seed(0)
    attn = tiny_vit.Attention(dim=32, heads=2, window=7).eval()
    x = torch.randn(3, 49, 32)
    with torch.inference_mode():
        before = attn(x)
    attn.load_state_dict({**attn.state_dict(), "attention_biases": torch.randn(2, 49)})
    with torch.inference_mode():
        assert not torch.allclose(before, attn(x))


def test_conv_bn_folded_in_eval_equals_conv_then_batchnorm() -> None:
    torch.manual_seed(0)
    block = tiny_vit.ConvBN(8, 16, 3, 2, 1)
    with torch.no_grad():
        block.bn.running_mean.normal_()
        block.bn.running_var.uniform_(0.5, 1.5)
        block.bn.weight.normal_()
        block.bn.bias.normal_()
    block.eval()
    x = torch.randn(2, 8, 20, 20)
    with torch.inference_mode():
        torch.testing.assert_close(block(x), block.bn(block.c(x)), atol=1e-5, rtol=1e-5)


def _seeded_decoder_model() -> Sam:
    from lamapaint.select.sam import build_model, deterministic_state_dict

    model = build_model("vit_t")
    model.load_state_dict(deterministic_state_dict("vit_t"))
    return model.eval()


def test_image_side_made_once_gives_what_each_block_computes_itself() -> None:
    """The predictor keeps the decoder's image side (``image_tokens``) between clicks; the first
    block's kept projections must equal the ones it makes from its inputs."""
    transformer = _seeded_decoder_model().mask_decoder.transformer
    torch.manual_seed(1)
    image, image_pe, tokens = torch.randn(1, 256, 64, 64), torch.randn(1, 256, 64, 64), torch.randn(1, 7, 256)
    with torch.inference_mode():
        kept = transformer(transformer.image_tokens(image, image_pe), tokens)
        queries, keys = tokens, image.flatten(2).transpose(1, 2)
        key_pe = image_pe.flatten(2).transpose(1, 2)
        for layer in transformer.layers:
            queries, keys = layer(queries, keys, tokens, key_pe)  # every block projecting for itself
        queries = transformer.norm_final_attn(queries + transformer.final_attn_token_to_image(queries + tokens, keys + key_pe, keys))
        torch.testing.assert_close(kept, (queries, keys), atol=1e-5, rtol=1e-5)


def _reference_attention(attn: transformer.Attention, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The official steps: project q, k, v, split heads, softmax(q k^T / sqrt(d)) v, join heads, project."""
    q, k, v = (attn._split(proj(x)) for proj, x in ((attn.q_proj, q), (attn.k_proj, k), (attn.v_proj, v)))
    scores = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5
    out = scores.softmax(dim=-1) @ v
    return attn.out_proj(out.transpose(1, 2).flatten(2))


@pytest.mark.parametrize(("queries", "keys"), [(300, 7), (7, 300), (7, 7), (300, 300)])
def test_attention_folding_the_prompt_side_into_the_weights_is_the_reference(queries: int, keys: int) -> None:
    """Image -> tokens folds the few keys, tokens -> image the few queries; both give the official output."""
    torch.manual_seed(4)
    attn = transformer.Attention(64, heads=4, downsample=2).eval()
    with torch.no_grad():
        for parameter in attn.parameters():
            parameter.normal_(std=0.3)
    q, k, v = torch.randn(2, queries, 64), torch.randn(2, keys, 64), torch.randn(2, keys, 64)
    with torch.inference_mode():
        torch.testing.assert_close(attn(q, k, v), _reference_attention(attn, q, k, v), atol=1e-4, rtol=1e-5)  # outputs ~10


def test_mask_tail_is_upscaling_then_hypernetwork_products() -> None:
    """The decoder's last transposed convolution, GELU and mask products, done per 128x128 pixel, are the official steps."""
    decoder = _seeded_decoder_model().mask_decoder
    torch.manual_seed(2)
    src, hyper = torch.randn(1, 256, 64, 64), torch.randn(1, 4, 32)
    with torch.inference_mode():
        upscaled = decoder.output_upscaling(src)
        expected = (hyper @ upscaled.flatten(2)).view(1, 4, 256, 256)
        torch.testing.assert_close(decoder._masks(src, hyper), expected, atol=1e-4, rtol=1e-5)
