"""Spend on paid models in ``/metrics``: each visible dataset's totals by model, read from the
ledger at scrape time (every worker's calls count), and its caps.

The totals only grow (the ledger adds to them), so they are counters:
``cognition_spend_tokens_total{dataset,model,direction}`` (direction ``input`` or
``output``), ``cognition_spend_cost_total{dataset,model}`` in US dollars and
``cognition_spend_calls_total{dataset,model}``. A dataset's caps are gauges
(``cognition_budget_max_tokens``, ``cognition_budget_max_cost``), present only when set, so
``cost_total / max_cost`` is the share used.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from cognition.ledger import Caps, Ledger, Spend


def read_spend(ledger: Ledger, datasets: Sequence[str]) -> tuple[list[Spend], dict[str, Caps]]:
    """The visible datasets' spend by model and their caps (one read for the spend)."""
    wanted = set(datasets)
    rows = [row for row in ledger.spend() if row.dataset in wanted]
    return rows, {name: ledger.budget(name) for name in sorted(wanted)}


class SpendCollector:
    def __init__(self, rows: Sequence[Spend], caps: dict[str, Caps]) -> None:
        self.rows, self.caps = rows, caps

    def collect(self) -> Iterator[Metric]:
        tokens = CounterMetricFamily(
            "cognition_spend_tokens",
            "Tokens paid for, by dataset, model and direction (input, output)",
            labels=["dataset", "model", "direction"],
        )
        cost = CounterMetricFamily(
            "cognition_spend_cost",
            "US dollars paid, by dataset and model (gemini.prices)",
            labels=["dataset", "model"],
        )
        calls = CounterMetricFamily(
            "cognition_spend_calls",
            "Paid calls (cache hits excluded), by dataset and model",
            labels=["dataset", "model"],
        )
        for row in self.rows:
            tokens.add_metric([row.dataset, row.model, "input"], row.input_tokens)
            tokens.add_metric([row.dataset, row.model, "output"], row.output_tokens)
            cost.add_metric([row.dataset, row.model], row.cost)
            calls.add_metric([row.dataset, row.model], row.calls)
        max_tokens = GaugeMetricFamily(
            "cognition_budget_max_tokens", "The dataset's cap on paid tokens", labels=["dataset"]
        )
        max_cost = GaugeMetricFamily(
            "cognition_budget_max_cost", "The dataset's cap on US dollars paid", labels=["dataset"]
        )
        for dataset, caps in self.caps.items():
            if caps.max_tokens is not None:
                max_tokens.add_metric([dataset], caps.max_tokens)
            if caps.max_cost is not None:
                max_cost.add_metric([dataset], caps.max_cost)
        yield from (tokens, cost, calls, max_tokens, max_cost)
