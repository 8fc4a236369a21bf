"""The ``"onnx"`` runtime: the BERT encoder as an onnxruntime session.

The graph is built once from the safetensors weights with the ``onnx`` helper API (fused
CPU kernels of the ``com.microsoft`` domain), cached on disk, and loaded from there on the
next start. Building needs the ``onnx`` package; loading a cached graph does not.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cognition.embedding._files import MODEL_CHECKSUMS
from cognition.embedding._weights import F32, BertConfig, BertWeights, LayerWeights, f32, load_bert_weights

_GRAPH_VERSION = 1  # bump when the graph changes: the cache file name changes with it
_ONNX_OPSET = 17
_ORT_MEMORY_ARENA = True


def cache_file(cache_dir: Path) -> Path:
    """Where the graph of these weights, this graph version and opset is cached."""
    digest = MODEL_CHECKSUMS["model.safetensors"][:16]
    return cache_dir / f"minilm-l6-v2-{digest}-g{_GRAPH_VERSION}-op{_ONNX_OPSET}.onnx"


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
        return f32(sums / weights.sum(axis=2))


def _pad(batch: Sequence[Sequence[int]]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    width = max(len(ids) for ids in batch)
    ids = np.zeros((len(batch), width), dtype=np.int64)
    mask = np.zeros((len(batch), width), dtype=np.int64)
    for row, seq in enumerate(batch):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return ids, mask
