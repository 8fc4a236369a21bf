"""Spend on paid models: what each call costs, where it is recorded, and hard caps.

The paying code (the Gemini embedder and extractor) wraps each call in ``paid``; the
importer opens an ``Account`` for the dataset (and job) it works for with ``charging``, a
context variable, so no port grows a budget argument. Without an account (a query's
embedding, a test) a call is neither checked nor recorded.
"""

from cognition.budget.account import Account, BudgetExhausted, Reservation, charging, current, paid
from cognition.budget.prices import cost_of, price_of
from cognition.budget.report import caps_json, spend_json

__all__ = [
    "Account",
    "BudgetExhausted",
    "Reservation",
    "caps_json",
    "charging",
    "cost_of",
    "current",
    "paid",
    "price_of",
    "spend_json",
]
