"""Spend and caps as JSON, the same for the CLI, the API and a job's result."""

from __future__ import annotations

from collections.abc import Sequence

from cognition.ledger.spend import Caps, Spend


def spend_json(rows: Sequence[Spend]) -> dict[str, object]:
    """Totals of ``rows`` and each model's (calls, input and output tokens, US dollars)."""
    models = {
        row.model: {
            "calls": row.calls,
            "input_tokens": row.input_tokens,
            "output_tokens": row.output_tokens,
            "cost": round(row.cost, 6),
        }
        for row in _by_model(rows)
    }
    return {
        "calls": sum(r.calls for r in rows),
        "input_tokens": sum(r.input_tokens for r in rows),
        "output_tokens": sum(r.output_tokens for r in rows),
        "cost": round(sum(r.cost for r in rows), 6),
        "models": models,
    }


def caps_json(caps: Caps, rows: Sequence[Spend]) -> dict[str, object]:
    """A cap, what is spent against it, and what is left (None: no cap)."""
    tokens, cost = sum(r.tokens for r in rows), sum(r.cost for r in rows)
    return {
        "max_tokens": caps.max_tokens,
        "max_cost": caps.max_cost,
        "tokens_left": None if caps.max_tokens is None else max(0, caps.max_tokens - tokens),
        "cost_left": None if caps.max_cost is None else round(max(0.0, caps.max_cost - cost), 6),
    }


def _by_model(rows: Sequence[Spend]) -> list[Spend]:
    merged: dict[str, Spend] = {}
    for row in rows:
        was = merged.get(row.model)
        merged[row.model] = (
            row
            if was is None
            else Spend(
                row.dataset,
                row.model,
                was.calls + row.calls,
                was.input_tokens + row.input_tokens,
                was.output_tokens + row.output_tokens,
                was.cost + row.cost,
            )
        )
    return list(merged.values())
