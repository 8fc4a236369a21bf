"""Helpers of ``bench.audit``: an embedder that only knows its dimensions (generation
never embeds), and a timer of every store query and audit step (the profile run).

The timer wraps, in its own process only, the coroutine functions of
``cognition.store.cognee.audit`` and ``cognition.audit.run`` (one entry per function,
inclusive: a step that calls another counts it too) and the ``query`` of the graph engine
the store's steps are given (one entry per query text).
"""

from __future__ import annotations

import functools
import inspect
import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from cognition.embedding.port import Purpose, Vectors


class NoModel:
    """Implements ``Embedder`` by name and dimensions only: the store records them, and
    synthetic data brings its own vectors."""

    def __init__(self, model_id: str, dimensions: int) -> None:
        self._model_id, self._dimensions = model_id, dimensions

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def max_batch(self) -> int:
        return 1

    async def embed(
        self,
        texts: Sequence[str],
        purpose: Purpose = "document",
        progress: Callable[[float], None] | None = None,
    ) -> Vectors:
        raise RuntimeError("bench.audit generates its vectors; nothing is embedded")

    def close(self) -> None:
        """Nothing to release."""


def model_dimensions() -> int:
    """The configured model's dimensions, read from its config file (the model stays unloaded)."""
    from cognition.embedding._weights import BertConfig
    from cognition.embedding.minilm import find_packaged_model_dir

    return BertConfig.from_dir(find_packaged_model_dir()).hidden


class Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] += seconds
        self.calls[name] += 1

    def report(self) -> dict[str, Any]:
        ordered = sorted(self.seconds, key=lambda k: -self.seconds[k])
        return {
            "steps": {k: round(self.seconds[k], 3) for k in ordered if not k.startswith("query ")},
            "queries": [
                {"query": k[6:], "seconds": round(self.seconds[k], 3), "calls": self.calls[k]}
                for k in ordered
                if k.startswith("query ")
            ],
        }


def install() -> Timer:
    """Start timing this process's audit (see the module's docstring)."""
    from cognition.audit import run
    from cognition.store.cognee import audit

    timer = Timer()
    for module in (audit, run):
        _wrap_module(module, timer)
    return timer


class _TimedGraph:
    """The graph engine an audit step was given, its queries timed."""

    def __init__(self, graph: Any, timer: Timer) -> None:
        self._graph, self._timer = graph, timer

    async def query(self, text: str, params: dict[str, Any] | None = None) -> Any:
        started = time.perf_counter()
        try:
            return await self._graph.query(text, params)
        finally:
            self._timer.add("query " + re.sub(r"\s+", " ", text).strip()[:160], time.perf_counter() - started)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._graph, name)


def _wrap_module(module: ModuleType, timer: Timer) -> None:
    for name, function in list(vars(module).items()):
        if inspect.iscoroutinefunction(function) and function.__module__ == module.__name__:
            setattr(module, name, _timed(function, f"{module.__name__.rsplit('.', 1)[-1]}.{name}", timer))


def _timed(function: Any, name: str, timer: Timer) -> Any:
    @functools.wraps(function)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        if args and hasattr(args[0], "query") and not isinstance(args[0], _TimedGraph):
            args = (_TimedGraph(args[0], timer), *args[1:])  # the store module's steps take the graph first
        started = time.perf_counter()
        try:
            return await function(*args, **kwargs)
        finally:
            timer.add(name, time.perf_counter() - started)

    return timed
