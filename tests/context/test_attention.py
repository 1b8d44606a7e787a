import torch

from ssltk.context.attention import MultiHeadSelfAttention, key_padding_mask


def test_padding_mask_and_explicit_softmax_reference():
    torch.manual_seed(0)
    attn = MultiHeadSelfAttention(16, 4).eval()
    x = torch.randn(2, 7, 16)
    pad = key_padding_mask(torch.tensor([7, 4]), 7)
    assert key_padding_mask(torch.tensor([7, 7]), 7) is None
    y = attn(x, pad)
    q, k, v = attn.qkv(x).view(2, 7, 3, 4, 4).unbind(2)
    s = torch.einsum("nihd,njhd->nhij", q, k) / 2.0
    s = s.masked_fill(pad[:, None, None, :], -float("inf"))
    ref = attn.out(torch.einsum("nhij,njhd->nihd", s.softmax(-1), v).reshape(2, 7, 16))
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=1e-5)
