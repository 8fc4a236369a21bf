"""The ``"numpy"`` runtime: a pure numpy BERT forward pass over unpadded (packed) tokens.

In-place kernels keep the peak memory of a batch to a few copies of its token states.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from cognition.embedding._weights import F32, BertConfig, BertWeights, LayerWeights, f32

_FFN_ROWS = 256  # token rows per feed-forward step: bounds the (rows, intermediate) buffer

# Abramowitz & Stegun 7.1.26: erfc(z) = t*P(t)*exp(-z^2), t = 1/(1+p*z), |error| <= 1.5e-7.
_AS_P = 0.3275911
_AS_COEFFS = (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)


def gelu_erf_(x: F32) -> F32:
    """Exact (erf) GELU in place: gelu(x) = relu(x) - |x| * erfc(|x|/sqrt2) / 2."""
    a = np.abs(x)
    t = a * np.float32(_AS_P / math.sqrt(2.0))
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    poly = t * np.float32(0.5 * _AS_COEFFS[0])
    for coeff in _AS_COEFFS[1:]:
        poly += np.float32(0.5 * coeff)
        poly *= t
    gauss = a * a
    gauss *= np.float32(-0.5)
    np.exp(gauss, out=gauss)
    poly *= gauss
    poly *= a
    np.maximum(x, np.float32(0.0), out=x)
    x -= poly
    return x


def layer_norm_(x: F32, gamma: F32, beta: F32, eps: float) -> F32:
    """LayerNorm over the last axis, in place."""
    x -= x.mean(axis=-1, keepdims=True)
    inv = np.mean(np.square(x), axis=-1, keepdims=True)
    inv += np.float32(eps)
    np.sqrt(inv, out=inv)
    np.reciprocal(inv, out=inv)
    x *= inv
    x *= gamma
    x += beta
    return x


class NumpyBert:
    """BERT encoder over packed (unpadded) tokens; only real tokens are computed."""

    def __init__(self, weights: BertWeights, config: BertConfig) -> None:
        self._w = weights
        self._cfg = config
        self._scale = np.float32(1.0 / math.sqrt(config.head_size))

    def pooled(self, batch: Sequence[Sequence[int]]) -> F32:
        lengths = np.array([len(ids) for ids in batch], dtype=np.int64)
        x = self._embed(batch, lengths)
        offsets = np.concatenate(([0], np.cumsum(lengths)))
        for layer in self._w.layers:
            x = self._attention_block(x, layer, offsets)
            x = self._ffn_block(x, layer)
        sums = np.add.reduceat(x, offsets[:-1], axis=0)
        return f32(sums / lengths[:, None].astype(np.float32))

    def _embed(self, batch: Sequence[Sequence[int]], lengths: NDArray[np.int64]) -> F32:
        ids = np.fromiter((t for seq in batch for t in seq), dtype=np.int64, count=int(lengths.sum()))
        positions = np.concatenate([np.arange(n, dtype=np.int64) for n in lengths])
        x = self._w.word[ids]
        x += self._w.position[positions]
        return layer_norm_(x, self._w.ln_g, self._w.ln_b, self._cfg.eps)

    def _attention_block(self, x: F32, layer: LayerWeights, offsets: NDArray[np.int64]) -> F32:
        qkv = x @ layer.wqkv
        qkv += layer.bqkv
        context = np.empty_like(x)
        for start, end in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
            context[start:end] = self._attend(qkv[start:end])
        out = context @ layer.wo
        out += layer.bo
        out += x
        return layer_norm_(out, layer.ln1_g, layer.ln1_b, self._cfg.eps)

    def _attend(self, qkv: F32) -> F32:
        """Self-attention of one text; the softmax's division is applied after ``@ v``."""
        n, heads, size = qkv.shape[0], self._cfg.heads, self._cfg.head_size
        q, k, v = qkv.reshape(n, 3, heads, size).transpose(1, 2, 0, 3)
        scores = np.matmul(q, k.transpose(0, 2, 1))
        scores *= self._scale
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        context = np.matmul(scores, v)
        context /= scores.sum(axis=-1, keepdims=True)
        merged: F32 = context.transpose(1, 0, 2).reshape(n, heads * size)
        return merged

    def _ffn_block(self, x: F32, layer: LayerWeights) -> F32:
        for start in range(0, x.shape[0], _FFN_ROWS):
            rows = x[start : start + _FFN_ROWS]
            hidden = rows @ layer.w1
            hidden += layer.b1
            out = gelu_erf_(hidden) @ layer.w2
            out += layer.b2
            out += rows
            rows[...] = layer_norm_(out, layer.ln2_g, layer.ln2_b, self._cfg.eps)
        return x
