"""Reading a provider's refusal: which quota a 429 names, and when to come back.

Gemini's 429 body carries ``google.rpc.QuotaFailure`` violations (``quotaId`` such as
``GenerateRequestsPerMinutePerProjectPerModel`` or ``…PerDay…``, ``quotaValue``) and a
``google.rpc.RetryInfo`` whose ``retryDelay`` ("17s") the SDK ignores; the governor reads
both from ``google.genai.errors.APIError.details`` (the response's JSON).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

RefusalKind = Literal["minute", "day", "terminal"]
_QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


@dataclass(frozen=True)
class Refusal:
    """One 429, understood: ``minute`` (pace), ``day`` (park) or ``terminal`` (stop)."""

    kind: RefusalKind
    retry_delay: float | None  # seconds, as the server asked; None when it did not say
    quota_ids: tuple[str, ...]
    message: str


def read_refusal(code: int, body: Any) -> Refusal | None:
    """The refusal in a 429's JSON body, or None when ``code`` is not a 429."""
    if code != 429:
        return None
    error = body.get("error", body) if isinstance(body, dict) else {}
    details = error.get("details") or [] if isinstance(error, dict) else []
    message = str(error.get("message", "")) if isinstance(error, dict) else ""
    violations = [
        v
        for d in details
        if isinstance(d, dict) and d.get("@type") == _QUOTA_FAILURE
        for v in d.get("violations") or []
        if isinstance(v, dict)
    ]
    quota_ids = tuple(str(v.get("quotaId", "")) for v in violations)
    return Refusal(_kind(violations, message), _retry_delay(details), quota_ids, message)


def _kind(violations: list[dict[str, Any]], message: str) -> RefusalKind:
    if any(str(v.get("quotaValue", "")).strip() == "0" for v in violations) or "limit: 0," in message:
        return "terminal"  # a zero quota (no billing on the project, a free tier without the model)
    if any("PerDay" in str(v.get("quotaId", "")) for v in violations):
        return "day"
    return "minute"  # per minute, or unnamed: pace and try again


def _retry_delay(details: list[Any]) -> float | None:
    for detail in details:
        if isinstance(detail, dict) and detail.get("@type") == _RETRY_INFO:
            match = _DURATION.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None
