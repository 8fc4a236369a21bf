"""What a call costs, from the price table of the settings (``gemini.prices``)."""

from __future__ import annotations

from collections.abc import Mapping

from cognition.errors import ConfigurationError
from cognition.settings import ModelPrice


def price_of(prices: Mapping[str, ModelPrice], model: str) -> ModelPrice:
    """``model``'s price; a model without one is a configuration error, never free."""
    price = prices.get(model)
    if price is None:
        raise ConfigurationError(
            f"no price for the model {model!r}: add it to COGNITION_GEMINI__PRICES "
            f"(known: {', '.join(sorted(prices)) or 'none'})"
        )
    return price


def cost_of(price: ModelPrice, input_tokens: int, output_tokens: int) -> float:
    """US dollars for a call of these tokens."""
    return (input_tokens * price.input_per_million + output_tokens * price.output_per_million) / 1e6
