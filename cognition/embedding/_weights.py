"""The BERT encoder's configuration and weights, laid out for ``y = x @ w + b``.

Both runtimes start from these arrays: the numpy runtime computes with them, the ONNX
runtime bakes them into its graph.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cognition.embedding._files import ModelFileError, read_safetensors

F32 = NDArray[np.float32]


@dataclass(frozen=True)
class BertConfig:
    hidden: int
    heads: int
    layers: int
    intermediate: int
    eps: float
    max_positions: int

    @classmethod
    def from_dir(cls, model_dir: Path) -> BertConfig:
        raw = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
        if raw.get("hidden_act", "gelu") != "gelu":
            raise ModelFileError(f"config.json: unsupported hidden_act {raw['hidden_act']!r}")
        return cls(
            hidden=int(raw["hidden_size"]),
            heads=int(raw["num_attention_heads"]),
            layers=int(raw["num_hidden_layers"]),
            intermediate=int(raw["intermediate_size"]),
            eps=float(raw.get("layer_norm_eps", 1e-12)),
            max_positions=int(raw["max_position_embeddings"]),
        )

    @property
    def head_size(self) -> int:
        return self.hidden // self.heads


@dataclass(frozen=True)
class LayerWeights:
    """One encoder layer; matrices are (in, out) so that ``y = x @ w + b``."""

    wqkv: F32
    bqkv: F32
    wo: F32
    bo: F32
    ln1_g: F32
    ln1_b: F32
    w1: F32
    b1: F32
    w2: F32
    b2: F32
    ln2_g: F32
    ln2_b: F32


@dataclass(frozen=True)
class BertWeights:
    word: F32  # (vocab, hidden)
    position: F32  # (max_positions, hidden), token type 0 folded in
    ln_g: F32
    ln_b: F32
    layers: tuple[LayerWeights, ...]


def f32(array: NDArray[Any]) -> F32:
    """A C-contiguous float32 copy (or the array itself if it already is one)."""
    return np.ascontiguousarray(array, dtype=np.float32)


def _tensor(tensors: dict[str, NDArray[Any]], name: str) -> NDArray[Any]:
    for key in (name, f"bert.{name}"):
        if key in tensors:
            return tensors[key]
    raise ModelFileError(f"model.safetensors has no tensor {name!r}")


def _load_layer(tensors: dict[str, NDArray[Any]], index: int) -> LayerWeights:
    def get(suffix: str) -> NDArray[Any]:
        return _tensor(tensors, f"encoder.layer.{index}.{suffix}")

    attn = "attention.self"
    qkv_w = [get(f"{attn}.{part}.weight") for part in ("query", "key", "value")]
    qkv_b = [get(f"{attn}.{part}.bias") for part in ("query", "key", "value")]
    return LayerWeights(
        wqkv=f32(np.concatenate(qkv_w, axis=0).T),
        bqkv=f32(np.concatenate(qkv_b)),
        wo=f32(get("attention.output.dense.weight").T),
        bo=f32(get("attention.output.dense.bias")),
        ln1_g=f32(get("attention.output.LayerNorm.weight")),
        ln1_b=f32(get("attention.output.LayerNorm.bias")),
        w1=f32(get("intermediate.dense.weight").T),
        b1=f32(get("intermediate.dense.bias")),
        w2=f32(get("output.dense.weight").T),
        b2=f32(get("output.dense.bias")),
        ln2_g=f32(get("output.LayerNorm.weight")),
        ln2_b=f32(get("output.LayerNorm.bias")),
    )


def load_bert_weights(model_dir: Path, config: BertConfig) -> BertWeights:
    """Read BERT encoder weights from ``model_dir/model.safetensors``."""
    tensors = read_safetensors(Path(model_dir) / "model.safetensors")
    token_type = _tensor(tensors, "embeddings.token_type_embeddings.weight")[0]
    position = _tensor(tensors, "embeddings.position_embeddings.weight")
    return BertWeights(
        word=f32(_tensor(tensors, "embeddings.word_embeddings.weight")),
        position=f32(position + token_type),
        ln_g=f32(_tensor(tensors, "embeddings.LayerNorm.weight")),
        ln_b=f32(_tensor(tensors, "embeddings.LayerNorm.bias")),
        layers=tuple(_load_layer(tensors, i) for i in range(config.layers)),
    )
