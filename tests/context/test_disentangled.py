import math

import torch

from ssltk.context.disentangled import DisentangledSelfAttention, RelativePositionEmbedding, log_bucket_position


def test_buckets_are_exact_near_zero_odd_and_monotone():
    rel = torch.arange(-600, 601)
    b = log_bucket_position(rel, 256, 512)
    assert torch.equal(b[600 - 127:600 + 128], rel[600 - 127:600 + 128].float())
    assert torch.equal(b, -b.flip(0))
    assert (b[1:] >= b[:-1]).all()
    assert b[600 - 511:600 + 512].abs().max() <= 256, "distances below max_position stay in the table"


def naive_attention(attn: DisentangledSelfAttention, rel_pos: RelativePositionEmbedding, x, pad=None):
    """Direct per-(i, j) evaluation of the DeBERTa score (SEW-D §3.4), for one utterance."""
    t, e = x.shape[1], attn.dim
    h, d = attn.heads, attn.head_dim
    wq, wk, wv = attn.qkv.weight.split(e)
    bq, bk, bv = attn.qkv.bias.split(e)
    q = (x[0] @ wq.T + bq).view(t, h, d)
    k = (x[0] @ wk.T + bk).view(t, h, d)
    v = (x[0] @ wv.T + bv).view(t, h, d)
    table = rel_pos.norm(rel_pos.embedding.weight)
    pq = (table @ wq.T + bq).view(-1, h, d)
    pk = (table @ wk.T + bk).view(-1, h, d)
    span = rel_pos.span
    scores = torch.empty(h, t, t)
    for i in range(t):
        for j in range(t):
            r = int(log_bucket_position(torch.tensor(i - j), rel_pos.buckets, rel_pos.max_positions))
            idx = min(max(r + span, 0), 2 * span - 1)
            s = (q[i] * k[j]).sum(-1) + (q[i] * pk[idx]).sum(-1) + (k[j] * pq[idx]).sum(-1)
            scores[:, i, j] = s / math.sqrt(3 * d)
    if pad is not None:
        scores[:, :, pad] = -float("inf")
    out = torch.einsum("hij,jhd->ihd", scores.softmax(-1), v).reshape(t, e)
    return out @ attn.out.weight.T + attn.out.bias


def test_matches_direct_evaluation_of_the_formula():
    torch.manual_seed(0)
    rel_pos = RelativePositionEmbedding(16, buckets=6, max_positions=20)
    attn = DisentangledSelfAttention(16, heads=2)
    x = torch.randn(1, 17, 16)
    with torch.no_grad():
        ours = attn(x, None, rel_pos(17, x.device))[0]
        torch.testing.assert_close(ours, naive_attention(attn, rel_pos, x), atol=1e-5, rtol=1e-4)
        pad = torch.zeros(1, 17, dtype=torch.bool)
        pad[0, 12:] = True
        ours = attn(x, pad, rel_pos(17, x.device))[0]
        torch.testing.assert_close(ours, naive_attention(attn, rel_pos, x, pad[0]), atol=1e-5, rtol=1e-4)


def test_inference_cache_follows_weight_updates():
    torch.manual_seed(0)
    rel_pos = RelativePositionEmbedding(16, buckets=6, max_positions=20)
    attn = DisentangledSelfAttention(16, heads=2).eval()
    x = torch.randn(1, 9, 16)
    with torch.no_grad():
        first = attn(x, None, rel_pos(9, x.device))
        assert torch.equal(first, attn(x, None, rel_pos(9, x.device)))
        attn.qkv.weight.add_(0.1)  # an optimizer step or load_state_dict bumps the version
        rel_pos.embedding.weight.mul_(2.0)
        fresh = naive_attention(attn, rel_pos, x)
        torch.testing.assert_close(attn(x, None, rel_pos(9, x.device))[0], fresh, atol=1e-5, rtol=1e-4)
