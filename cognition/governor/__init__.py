"""One rate governor per model and credential, shared by every worker: pace, park, never storm."""

from cognition.governor.errors import (
    CircuitOpen,
    ProviderError,
    ProviderUnavailable,
    QuotaPaced,
    QuotaParked,
    QuotaTerminal,
)
from cognition.governor.governor import Governor
from cognition.governor.memory import MemoryBackend
from cognition.governor.port import Backend, Quota, fingerprint, quota_day

__all__ = [
    "Backend",
    "CircuitOpen",
    "Governor",
    "MemoryBackend",
    "ProviderError",
    "ProviderUnavailable",
    "Quota",
    "QuotaPaced",
    "QuotaParked",
    "QuotaTerminal",
    "fingerprint",
    "quota_day",
]
