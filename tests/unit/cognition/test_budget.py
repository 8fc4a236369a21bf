"""The budget's account on a real SQLite ledger: caps with calls in flight, job and dataset
scopes, what a call records, and a money cap on a model without a price."""

from __future__ import annotations

from pathlib import Path

import pytest

from cognition.budget import Account, BudgetExhausted
from cognition.errors import ConfigurationError
from cognition.ledger import Caps, SqliteLedger
from cognition.settings import DEFAULT_PRICES

FLASH = "gemini-2.5-flash"  # $0.30 in, $2.50 out a million tokens by default


@pytest.fixture
def ledger(tmp_path: Path) -> SqliteLedger:
    book = SqliteLedger(tmp_path / "ledger.sqlite3")
    book.register_dataset("d")
    return book


def test_a_call_records_its_tokens_and_cost_for_its_dataset_and_job(ledger: SqliteLedger) -> None:
    account = Account(ledger, "d", DEFAULT_PRICES, job_id="job-1")
    account.settle(account.reserve(FLASH, 1000, 500), 1_000_000, 200_000)
    account.settle(account.reserve(FLASH, 10, 0), 10, 0)
    [row] = ledger.spend("d", "job-1")
    assert (row.calls, row.input_tokens, row.output_tokens) == (2, 1_000_010, 200_000)
    assert row.cost == pytest.approx(0.30 + 0.50 + 10 * 0.30 / 1e6)
    assert ledger.spend("d", "another-job") == [] and ledger.spend("d")[0].calls == 2


def test_calls_in_flight_count_against_the_cap_and_a_refusal_says_which(ledger: SqliteLedger) -> None:
    account = Account(ledger, "d", DEFAULT_PRICES, caps=Caps(max_tokens=250))
    first = account.reserve(FLASH, 100, 0)
    account.reserve(FLASH, 100, 0)  # in flight: 200 of 250
    with pytest.raises(BudgetExhausted) as refused:
        account.reserve(FLASH, 100, 0)
    assert (refused.value.scope, refused.value.limit, refused.value.cap) == ("job", "tokens", 250)
    assert "--max-tokens" in str(refused.value)
    account.cancel(first)  # failed unpaid: its reservation is free again
    account.reserve(FLASH, 100, 0)


def test_the_dataset_cap_counts_every_job_and_is_read_at_each_call(ledger: SqliteLedger) -> None:
    earlier = Account(ledger, "d", DEFAULT_PRICES, job_id="earlier")
    earlier.settle(earlier.reserve(FLASH, 1, 0), 1_000_000, 0)  # $0.30 spent by an earlier job
    account = Account(ledger, "d", DEFAULT_PRICES, job_id="now")
    account.reserve(FLASH, 1, 0)
    ledger.set_budget("d", Caps(max_cost=0.30))
    with pytest.raises(BudgetExhausted) as refused:
        account.reserve(FLASH, 1, 0)
    assert refused.value.scope == "dataset" and refused.value.spent == pytest.approx(0.30)
    assert "cognition budget set d --max-cost" in str(refused.value)


def test_a_money_cap_on_a_model_without_a_price_is_refused_not_free(ledger: SqliteLedger) -> None:
    free = Account(ledger, "d", DEFAULT_PRICES)
    free.settle(free.reserve("unpriced-model", 10, 0), 10, 0)  # no cap: recorded at $0
    assert ledger.spend("d")[0].cost == 0
    capped = Account(ledger, "d", DEFAULT_PRICES, caps=Caps(max_cost=1.0))
    with pytest.raises(ConfigurationError, match="no price for the model 'unpriced-model'"):
        capped.reserve("unpriced-model", 10, 0)
