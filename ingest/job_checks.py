"""Checking a file job before a worker reads anything: a job is untrusted input (anyone who
can write to Redis can queue one). ``FileJob.checked`` refuses a job whose arguments have
the wrong shape, whose path does not resolve (symlinks too) inside an import root, or whose
bytes do not match its hash. A refused job ends at once (never retried) with its reason."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cognition.datasets import document_id, validate_dataset_name
from cognition.errors import DatasetError, DocumentError
from cognition.ledger import IN_FLIGHT, Caps, Ledger
from ingest.pdf import sha256_file
from ingest.web.spec import CrawlSpec

KINDS = ("pdf", "text")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FIELDS = ("dataset", "path", "kind", "content_hash")  # the arguments of an ingest_file job
_CAPS = ("max_tokens", "max_cost")  # and the job's own spending caps, when it has some
_CRAWL_FIELDS = ("dataset", "spec")  # the arguments of a crawl_site job
_SPEC_LISTS = {"seeds": 1000, "include": 200, "exclude": 200}  # most items each may hold
_SPEC_LIMITS = ("max_depth", "max_pages")


class RefusedJob(DocumentError):
    """A file job that will not run: malformed, outside the import roots, or not the bytes
    its hash names. Permanent: the same job is refused the same way."""

    reason = "refused"


@dataclass(frozen=True)
class FileJob:
    """The arguments of an ``ingest_file`` job, checked."""

    dataset: str
    path: Path  # resolved: the file that was checked, inside an import root
    kind: str
    content_hash: str
    caps: Caps = field(default_factory=Caps)

    @classmethod
    def checked(cls, arguments: Mapping[str, object], roots: Sequence[Path]) -> FileJob:
        """The job, once its shapes, its path and its bytes are checked (reads the file)."""
        job = cls.parse(arguments, roots)
        if not job.path.is_file():
            raise RefusedJob(f"{job.path} does not exist or is not a file")
        try:
            found = sha256_file(job.path)
        except OSError as exc:
            raise RefusedJob(f"{job.path}: {exc}") from exc
        if found != job.content_hash:
            raise RefusedJob(
                f"content does not match the job's hash: {job.path} has sha256 {found}, the job "
                f"names {job.content_hash} (the file changed after it was submitted; submit it again)"
            )
        return job

    @classmethod
    def parse(cls, arguments: Mapping[str, object], roots: Sequence[Path]) -> FileJob:
        """The job from its arguments, without reading the file."""
        _exact(arguments, _FIELDS, _CAPS)
        dataset, path, kind, content_hash = (_string(arguments, name) for name in _FIELDS)
        try:
            validate_dataset_name(dataset)
        except DatasetError as exc:
            raise RefusedJob(str(exc)) from exc
        if kind not in KINDS:
            raise RefusedJob(f"kind must be one of {', '.join(KINDS)}, not {_shown(kind)}")
        if not _SHA256.fullmatch(content_hash):
            raise RefusedJob(
                f"content_hash must be 64 lowercase hex digits (a sha256), not {_shown(content_hash)}"
            )
        return cls(dataset, within_roots(path, roots), kind, content_hash, job_caps(arguments))

    @property
    def doc_id(self) -> str:
        return document_id(self.dataset, self.content_hash)


def within_roots(path: str | Path, roots: Sequence[Path]) -> Path:
    """``path`` resolved (``..`` and symlinks), if that lies inside one of ``roots`` (resolved
    themselves); otherwise ``RefusedJob``, naming the setting that decides."""
    text = str(path)
    if "\x00" in text or len(text) > 4096:
        raise RefusedJob(f"path is not a usable file name: {_shown(text)}")
    if not os.path.isabs(text):
        raise RefusedJob(f"path must be an absolute path, not {_shown(text)}")
    real = Path(os.path.realpath(text))
    if any(real.is_relative_to(root) for root in roots):
        return real
    shown = _shown(text, 1000) + ("" if str(real) == text else f" (resolved: {_shown(str(real), 1000)})")
    raise RefusedJob(
        f"{shown} is outside the import roots ({', '.join(map(str, roots))}): workers read only "
        "files under COGNITION_QUEUE__IMPORT_ROOTS and <data_dir>/uploads; add its directory to "
        "COGNITION_QUEUE__IMPORT_ROOTS"
    )


def _string(arguments: Mapping[str, object], name: str) -> str:
    value = arguments[name]
    if not isinstance(value, str):
        raise RefusedJob(f"{name} must be a string, not {type(value).__name__}")
    return value


def _shown(value: str, limit: int = 120) -> str:
    """An untrusted value fit for a message: quoted, and cut short."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


def refuse(ledger: Ledger, arguments: Mapping[str, object], exc: RefusedJob) -> dict[str, object]:
    """A refused job's result. The reason goes on the ledger row of the job's document only
    if that row is waiting for a job (a submission's): a forged job creates no row, and
    cannot fail a document that is already stored."""
    dataset, content_hash = arguments.get("dataset"), arguments.get("content_hash")
    if isinstance(dataset, str) and isinstance(content_hash, str):
        row = ledger.get(dataset, document_id(dataset, content_hash))
        if row is not None and row.state in IN_FLIGHT:
            ledger.set_state(dataset, row.doc_id, "failed", error=str(exc), permanent=1)
    return {"refused": str(exc)}


def crawl_job(arguments: Mapping[str, object]) -> tuple[str, CrawlSpec]:
    """The dataset and spec of a ``crawl_site`` job, once their shapes are checked (the SSRF
    guard still checks every URL the crawl fetches)."""
    _exact(arguments, _CRAWL_FIELDS)
    dataset = _string(arguments, "dataset")
    try:
        validate_dataset_name(dataset)
    except DatasetError as exc:
        raise RefusedJob(str(exc)) from exc
    spec = arguments["spec"]
    if not isinstance(spec, dict):
        raise RefusedJob(f"spec must be an object, not {type(spec).__name__}")
    unknown = sorted(str(k) for k in set(spec) - {*_SPEC_LISTS, *_SPEC_LIMITS, "same_site"})
    if unknown:
        raise RefusedJob(f"unexpected spec fields: {', '.join(unknown)}")
    lists = {name: _strings(spec, name, most) for name, most in _SPEC_LISTS.items()}
    if not lists["seeds"]:
        raise RefusedJob("spec.seeds must name at least one URL")
    limits = {name: _limit(spec, name) for name in _SPEC_LIMITS}
    same_site = spec.get("same_site", True)
    if not isinstance(same_site, bool):
        raise RefusedJob(f"spec.same_site must be true or false, not {type(same_site).__name__}")
    return dataset, CrawlSpec(
        lists["seeds"], lists["include"], lists["exclude"], **limits, same_site=same_site
    )


def job_caps(arguments: Mapping[str, object]) -> Caps:
    """A job's own caps: ``max_tokens`` a whole number, ``max_cost`` dollars, neither negative."""
    tokens, cost = arguments.get("max_tokens"), arguments.get("max_cost")
    if tokens is not None and (isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0):
        raise RefusedJob(f"max_tokens must be a whole number of tokens, 0 or more, not {tokens!r}")
    if cost is not None and (
        isinstance(cost, bool) or not isinstance(cost, int | float) or not math.isfinite(cost) or cost < 0
    ):
        raise RefusedJob(f"max_cost must be US dollars, 0 or more, not {cost!r}")
    return Caps(tokens, None if cost is None else float(cost))


def _exact(arguments: Mapping[str, object], fields: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    missing = sorted(set(fields) - set(arguments))
    extra = sorted(str(name) for name in set(arguments) - set(fields) - set(optional))
    if missing or extra:
        parts = [f"missing arguments: {', '.join(missing)}"] if missing else []
        parts += [f"unexpected arguments: {', '.join(extra)}"] if extra else []
        raise RefusedJob("; ".join(parts))


def _strings(spec: Mapping[str, object], name: str, most: int) -> tuple[str, ...]:
    value = spec.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and len(v) <= 4096 for v in value):
        raise RefusedJob(f"spec.{name} must be a list of strings")
    if len(value) > most:
        raise RefusedJob(f"spec.{name} holds {len(value)} items, more than {most}")
    return tuple(value)


def _limit(spec: Mapping[str, object], name: str) -> int | None:
    value = spec.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RefusedJob(f"spec.{name} must be a whole number of at least 0, or null")
    return value
