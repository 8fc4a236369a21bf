"""An ``Account``: who pays for the calls of an import (a dataset, a job), and its caps.

Before each paid call ``reserve`` adds the call's estimate to what is already spent (read
from the ledger, so every worker on the dataset counts) and to what other calls of this
process have reserved and not settled, and refuses with ``BudgetExhausted`` when a cap
would be passed. After the call ``settle`` records what the provider reported. Calls in
flight were admitted before the cap was reached and finish, so an import stops at the cap
give or take one batch of concurrent calls (and the estimate's error on output tokens).

Two caps apply, each of tokens (input and output together) and of US dollars: the job's,
given with the import, and the dataset's, stored in the ledger (``cognition budget set``).
"""

from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from cognition.budget.prices import cost_of, price_of
from cognition.errors import CognitionError
from cognition.ledger.spend import Caps, Spend
from cognition.settings import ModelPrice

T = TypeVar("T")
log = logging.getLogger(__name__)
Limit = Literal["tokens", "cost"]
Scope = Literal["job", "dataset"]


class SpendBook(Protocol):
    """What an account needs of the ledger."""

    def add_spend(self, paid: Spend) -> None: ...

    def spend(self, dataset: str | None = None, job_id: str | None = None) -> list[Spend]: ...

    def budget(self, dataset: str) -> Caps: ...


class BudgetExhausted(CognitionError):
    """A paid call would pass a cap: the import stops here, resumable once the cap is raised.

    ``partial`` holds what calls admitted before the cap produced (an extractor's graphs by
    chunk index), so a cache can keep them: they were paid for."""

    def __init__(self, scope: Scope, dataset: str, limit: Limit, cap: float, spent: float) -> None:
        self.scope, self.dataset, self.limit, self.cap, self.spent = scope, dataset, limit, cap, spent
        self.partial: dict[int, Any] = {}
        shown = _money if limit == "cost" else _tokens
        how = (
            f"import again with a higher --max-{limit}"
            if scope == "job"
            else f"raise it with `cognition budget set {dataset} --max-{limit} …` and import again"
        )
        super().__init__(
            f"the {scope}'s budget of {shown(cap)} for dataset {dataset!r} is reached "
            f"({shown(spent)} spent, {shown(max(0.0, cap - spent))} left, not enough for the next call): "
            f"{how}; chunks already paid for come from the cache"
        )

    def to_json(self) -> dict[str, object]:
        return {"scope": self.scope, "limit": self.limit, "cap": self.cap, "spent": self.spent}


def _money(value: float) -> str:
    return f"${value:.4f}"


def _tokens(value: float) -> str:
    return f"{int(value):,} tokens"


@dataclass(frozen=True)
class Reservation:
    model: str
    tokens: int
    cost: float
    ticket: str = field(default_factory=lambda: uuid.uuid4().hex)


class Account:
    """The spend of one import of ``dataset`` (``job_id``: its job, or a run id of its own)."""

    def __init__(
        self,
        book: SpendBook,
        dataset: str,
        prices: Mapping[str, ModelPrice],
        job_id: str | None = None,
        caps: Caps | None = None,
        expected_output: int = 0,
    ) -> None:
        self.book, self.dataset, self.prices = book, dataset, prices
        self.job_id = job_id or f"run:{uuid.uuid4().hex[:12]}"
        self.caps = caps or Caps()
        self.expected_output = expected_output  # an extraction call's answer tokens, before any is seen
        self._pending: dict[str, Reservation] = {}
        self._answers = (0, 0)  # calls that reported output, and their output tokens
        self._unpriced: set[str] = set()

    def output_estimate(self) -> int:
        """The answer tokens to reserve for a generation call: this run's mean once it has one."""
        calls, tokens = self._answers
        return round(tokens / calls) if calls else self.expected_output

    def reserve(self, model: str, input_tokens: int, output_tokens: int) -> Reservation:
        """Reserve a call's estimate, or ``BudgetExhausted`` when a cap would be passed."""
        dataset_caps = self.book.budget(self.dataset)
        reservation = Reservation(
            model, input_tokens + output_tokens, self._cost(model, input_tokens, output_tokens, dataset_caps)
        )
        pending_tokens = sum(r.tokens for r in self._pending.values()) + reservation.tokens
        pending_cost = sum(r.cost for r in self._pending.values()) + reservation.cost
        scopes: tuple[tuple[Scope, Caps, str | None], ...] = (
            ("job", self.caps, self.job_id),
            ("dataset", dataset_caps, None),
        )
        for scope, caps, job in scopes:
            if not caps.any:
                continue
            spent = self.book.spend(self.dataset, job)
            tokens, cost = sum(s.tokens for s in spent), sum(s.cost for s in spent)
            if caps.max_tokens is not None and tokens + pending_tokens > caps.max_tokens:
                raise BudgetExhausted(scope, self.dataset, "tokens", caps.max_tokens, tokens)
            if caps.max_cost is not None and cost + pending_cost > caps.max_cost:
                raise BudgetExhausted(scope, self.dataset, "cost", caps.max_cost, cost)
        self._pending[reservation.ticket] = reservation
        return reservation

    def settle(self, reservation: Reservation, input_tokens: int, output_tokens: int | None) -> None:
        """Record the call as the provider reported it (``output_tokens`` None: none reported)."""
        self._pending.pop(reservation.ticket, None)
        if output_tokens is not None:
            calls, tokens = self._answers
            self._answers = (calls + 1, tokens + output_tokens)
        out = output_tokens or 0
        cost = self._cost(reservation.model, input_tokens, out, None)
        self.book.add_spend(Spend(self.dataset, reservation.model, 1, input_tokens, out, cost, self.job_id))

    def cancel(self, reservation: Reservation) -> None:
        """The call failed unpaid (a refusal, a 5xx, a cancellation): free its reservation."""
        self._pending.pop(reservation.ticket, None)

    def _cost(self, model: str, input_tokens: int, output_tokens: int, caps: Caps | None) -> float:
        if model not in self.prices:
            if self.caps.max_cost is not None or (caps is not None and caps.max_cost is not None):
                price_of(self.prices, model)  # raises: a money cap cannot hold without a price
            if model not in self._unpriced:  # once per import, not once per call
                self._unpriced.add(model)
                log.warning(
                    "no price for %s: its calls are recorded at $0 (set COGNITION_GEMINI__PRICES)", model
                )
            return 0.0
        return cost_of(self.prices[model], input_tokens, output_tokens)


_current: contextvars.ContextVar[Account | None] = contextvars.ContextVar("cognition_account", default=None)


def current() -> Account | None:
    return _current.get()


@contextmanager
def charging(account: Account) -> Iterator[Account]:
    """Make ``account`` pay for the paid calls made inside (tasks started inside inherit it)."""
    token = _current.set(account)
    try:
        yield account
    finally:
        _current.reset(token)


async def paid(
    model: str,
    input_tokens: int,
    call: Callable[[], Awaitable[T]],
    usage: Callable[[T], tuple[int, int] | None] | None = None,
    generates: bool = False,
) -> T:
    """``call()``, checked against the current account's caps first and recorded after:
    ``usage`` reads (input, output) tokens from the answer (None: the estimate stands);
    ``generates``: the call answers with tokens (reserve the expected answer too)."""
    account = current()
    if account is None:
        return await call()
    reservation = account.reserve(model, input_tokens, account.output_estimate() if generates else 0)
    try:
        result = await call()
    except BaseException:
        account.cancel(reservation)
        raise
    reported = usage(result) if usage is not None else None
    used_in, used_out = reported if reported is not None else (input_tokens, None)
    account.settle(reservation, used_in, used_out if generates else None)
    return result
