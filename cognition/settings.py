"""The one settings object.

Precedence: init arguments > environment (``COGNITION_`` prefix, nested sections with ``__``)
> ``.env`` > defaults. Nothing else in the project reads the environment.
"""

from __future__ import annotations

import ipaddress
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from cognition.errors import ConfigurationError
from cognition.gemini_settings import DEFAULT_PRICES as DEFAULT_PRICES
from cognition.gemini_settings import GeminiSettings as GeminiSettings
from cognition.gemini_settings import ModelPrice as ModelPrice
from cognition.gemini_settings import ModelQuotaSettings as ModelQuotaSettings


class EmbeddingSettings(BaseModel):
    """Which embedder runs (``provider``), and the local model's options. The model defines
    the vectors' dimension; a dataset records the model it was built with."""

    provider: Literal["local", "gemini"] = "local"  # gemini: the ``gemini`` section below
    runtime: Literal["onnx", "numpy"] = "onnx"
    max_tokens: int = 256
    batch_size: int = 16  # fastest and lowest peak memory on 2 cores (361 MB vs 565 MB at 32)
    threads: int | None = None


class ChunkingSettings(BaseModel):
    """How page text is cut into chunks (sizes in words, a cheap proxy for tokens)."""

    target_words: int = Field(default=150, ge=20)
    overlap_words: int = Field(default=20, ge=0)
    # A chunk is also cut at this many characters, and a longer "word" (a run of text with
    # no space: base64, a minified line) into pieces of it; without it one 2 MB run became one
    # chunk. Book text stays under it: 150 words are about 1,000 characters, and the longest
    # chunks of the bench books, a table of contents with dot leaders, 5,858.
    max_chars: int = Field(default=8000, ge=100)


class ExtractionSettings(BaseModel):
    """Which graph extractor runs, and its limits."""

    extractor: Literal["local", "gemini"] = "local"  # gemini: the ``gemini`` section's extraction_*
    max_entities_per_chunk: int = 24
    min_entity_chars: int = 2


class ImportSettings(BaseModel):
    """Bulk import behaviour."""

    # Chunks extracted, embedded and written together. The model sorts a batch's texts by
    # length before padding them to a common width: 100 chunks padded 7.5 % more tokens than
    # the whole library sorted at once, 400 only 2 %; each write also has a fixed cost
    # (about 0.1-0.3 s). A document holds at most three batches in memory.
    chunks_per_batch: int = Field(default=400, ge=1)
    # Documents prepared (read, extracted, embedded) at once by one import; they take turns
    # at the dataset's write gate, so one is embedded while another is read or stored.
    concurrency: int = Field(default=2, ge=1)
    # Pages a PDF may have. A book fails with ``TooManyPages`` before any page is read, so
    # a generated or malformed file of 100,000 pages does not occupy a reader for an hour
    # (a page takes about 1/60 s; real books have at most a few thousand pages).
    max_pages: int = Field(default=20_000, ge=1)


class SearchSettings(BaseModel):
    """Retrieval defaults."""

    top_k: int = Field(default=5, ge=1)  # hits when a search names no number
    max_top_k: int = 100
    busy_wait_seconds: float = Field(default=30.0, gt=0)  # a read waits this long for a write, then "busy"
    ppr_damping: float = 0.3
    ppr_iterations: int = 30
    hybrid_passage_weight: float = 1.0
    link_min_overlap: float = 0.5


class QueueSettings(BaseModel):
    """The Arq queue on Redis (workers, leases, retries, write locks)."""

    # The Redis of the Arq queue (``redis://[user:password@]host:6379/0``). Unset (the embedded
    # default): there is no queue, and the API server runs submitted imports itself.
    redis_url: str | None = None
    name: str = "cognition:queue"
    max_jobs: int = Field(default=2, ge=1)  # jobs one worker runs at once (reading overlaps writing)
    job_timeout_seconds: int = Field(default=4 * 3600, ge=1)
    lease_seconds: float = Field(default=30.0, gt=0)  # a dead worker's job is taken again after this
    lock_seconds: float = Field(default=30.0, gt=0)  # a dead writer's dataset lock expires after this
    max_tries: int = Field(default=5, ge=1)
    retry_base_seconds: float = Field(default=2.0, gt=0)
    retry_cap_seconds: float = Field(default=300.0, gt=0)
    # A job whose provider is out of quota for the day, or whose circuit breaker is open, is
    # parked until then without using up one of its max_tries; it wakes at least this often
    # (a parked job that wakes early makes no call: the governor refuses it and it parks again)
    # and fails after max_parks parks (Arq is given max_tries + max_parks tries in all).
    max_park_seconds: float = Field(default=3600.0, gt=0)
    max_parks: int = Field(default=1000, ge=0)
    keep_result_seconds: int = Field(default=24 * 3600, ge=0)
    poll_seconds: float = Field(default=0.5, gt=0)
    # On SIGTERM/SIGINT a worker takes no new job and lets its running jobs finish for this
    # long; what is still running then is cancelled: its document is recorded as interrupted
    # and the job goes back on the queue for another worker at once (its lease is released).
    # Give the orchestrator's stop timeout a little more (compose: stop_grace_period).
    shutdown_grace_seconds: int = Field(default=60, ge=0)
    # Directories whose files queued jobs may import (absolute paths). Anyone who can write
    # to Redis can put a job on the queue, so a worker reads only files that resolve inside
    # one of these or ``<data_dir>/uploads``. Empty (the default): only uploads, and
    # ``import --queue`` of other files is refused with a message naming this setting.
    import_roots: Annotated[list[Path], NoDecode] = Field(default_factory=list)

    @field_validator("import_roots", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return _split_list(value)  # COGNITION_QUEUE__IMPORT_ROOTS=/srv/books,/srv/notes (or JSON)

    @field_validator("import_roots")
    @classmethod
    def _absolute(cls, value: list[Path]) -> list[Path]:
        roots = [path.expanduser() for path in value]
        relative = [str(path) for path in roots if not path.is_absolute()]
        if relative:  # relative to what? A worker's working directory is nobody's choice
            raise ValueError(f"import roots must be absolute paths: {', '.join(relative)}")
        return roots

    @property
    def url(self) -> str:
        """The Redis URL, for what cannot run without a queue (workers, ``import --queue``)."""
        if self.redis_url is None:
            raise ConfigurationError(
                "no queue is configured: set COGNITION_QUEUE__REDIS_URL (e.g. redis://127.0.0.1:6379/0)"
            )
        return self.redis_url


def _split_list(value: object) -> object:
    """A list setting from one variable: comma-separated, or a JSON list."""
    if isinstance(value, str):
        text = value.strip()
        return json.loads(text) if text.startswith("[") else [p.strip() for p in text.split(",") if p.strip()]
    return value


class CrawlSettings(BaseModel):
    """Web crawling: limits, politeness, and the SSRF guard's allowlist.

    By default the crawler refuses every address that is not public (loopback, private,
    link-local, CGNAT, multicast, reserved, cloud metadata). ``allow_networks`` lists the
    networks (CIDR) it may reach anyway, e.g. ``["127.0.0.1/32"]`` to crawl a local site.
    """

    allow_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)
    delay_seconds: float = Field(default=0.5, ge=0)  # between two requests to the same host
    max_pages: int = Field(default=100, ge=1)
    max_depth: int = Field(default=3, ge=0)
    max_bytes: int = Field(default=5_000_000, ge=1024)  # per response, after decompression
    timeout_seconds: float = Field(default=20.0, gt=0)  # per request, redirects not included
    max_redirects: int = Field(default=5, ge=0)
    concurrency: int = Field(default=4, ge=1)  # requests in flight (one per host while delayed)
    user_agent: str = "CognitionBot/0.1"
    browser: bool = False  # render each approved page in Chromium (pages that need JavaScript)
    chromium_path: str = "/usr/bin/chromium"

    @field_validator("allow_networks", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return _split_list(value)  # COGNITION_CRAWL__ALLOW_NETWORKS=127.0.0.1/32,::1/128 (or JSON)

    @field_validator("allow_networks")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        return [_network(net) for net in value]


def _network(text: str) -> str:
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        raise ValueError(f"{text!r} is not a network (CIDR)") from None


class ApiSettings(BaseModel):
    """The HTTP API and MCP server (`cognition serve`, `cognition mcp`)."""

    host: str = "127.0.0.1"  # nothing listens beyond loopback unless configured
    port: int = Field(default=8765, ge=1, le=65535)
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)  # one uploaded PDF
    text_budget: int = Field(default=4000, ge=100)  # characters of hit text in one search answer by default
    max_text_budget: int = Field(default=100_000, ge=50)  # characters a request may ask for in all
    page_size: int = Field(default=50, ge=1)  # items per page of a list by default
    max_page_size: int = Field(default=500, ge=1)
    max_depth: int = Field(default=3, ge=1, le=3)  # hops from an entity at most
    max_path_length: int = Field(default=4, ge=1, le=6)  # relations on a path between two entities
    mcp_budget: int = Field(default=6000, ge=200)  # characters of one MCP tool result by default
    mcp_write: bool = False  # MCP tools that import or delete (off: read-only tools only)
    # The API key `cognition mcp` (stdio) acts as when no --key/--dataset is given
    # (COGNITION_API__MCP_KEY): an agent's config can hold it in its environment, not its argv.
    mcp_key: SecretStr | None = None
    # Requests one API key may make: ``rate_limit_burst`` at once, then
    # ``rate_limit_per_minute`` a minute on average (a token bucket per key); beyond it, 429
    # with Retry-After. With several API processes on one Redis, the limit is shared.
    rate_limit_per_minute: int = Field(default=600, ge=1)
    rate_limit_burst: int = Field(default=60, ge=1)


class AuditSettings(BaseModel):
    """Health audits (`cognition audit`): how much each finding weighs.

    Integrity checks (orphan entities, documents without chunks, chunks without a document
    or a vector, vectors without a chunk, ledger ↔ store drift) warn at their first
    offender and are critical beyond ``critical_share`` of what they count. Isolation
    breaches and vectors of the wrong dimension or model are always critical.
    """

    # The periodic audit: every dataset whose latest audit is this old is audited again (an
    # Arq cron job checks each minute; a server without Redis, its own timer). 0: never.
    every_seconds: float = Field(default=86400.0, ge=0)
    max_offenders: int = Field(default=50, ge=1)  # ids listed per check (the total is always counted)
    critical_share: float = Field(default=0.01, ge=0, le=1)
    # A document in a working state (queued, reading, embedding, storing) not updated for this
    # long is stuck: its process died or hangs.
    stuck_seconds: float = Field(default=3600.0, gt=0)
    failed_critical_share: float = Field(default=0.25, ge=0, le=1)  # any failed document warns
    # Duplicate-entity candidates (names one edit or one acronym apart), as a share of the
    # entities: a real book has some ("blob"/"blobs" is merged already, "tree"/"three" is not).
    duplicate_warn_share: float = Field(default=0.05, ge=0, le=1)
    duplicate_critical_share: float = Field(default=0.2, ge=0, le=1)
    duplicate_min_chars: int = Field(default=5, ge=2)  # shorter keys ("git"/"got") are not compared
    duplicate_max_keys: int = Field(default=200_000, ge=1)  # keys compared at most (memory bound)
    # Share of chunks that mention no entity: warn, critical above these.
    bare_chunks_warn_share: float = Field(default=0.5, ge=0, le=1)
    bare_chunks_critical_share: float = Field(default=0.9, ge=0, le=1)
    # Warn when the connected component holding the most entities holds less than this share
    # of them: the graph fell apart. One book is one piece, and so were excerpts of three
    # different books (git, bash, the Linux command line) imported together: they share
    # entities ("file", "command"), so a real library sits near 1.0.
    component_warn_share: float = Field(default=0.5, ge=0, le=1)
    # Pages with text / pages, per PDF: a document below these warns / is critical (a real
    # book's blank and figure-only pages keep it a little under 1: 0.99 to 1.0 for the bench
    # books; a scan without text layer goes to needs_ocr instead).
    coverage_warn_share: float = Field(default=0.8, ge=0, le=1)
    coverage_critical_share: float = Field(default=0.5, ge=0, le=1)
    # A crawled page fetched longer ago than this is stale (warn): crawl it again.
    stale_seconds: float = Field(default=30 * 86400.0, gt=0)


class StoreSettings(BaseModel):
    """The graph and vector stores: Ladybug (embedded, through cognee) or Neo4j for the graph,
    LanceDB for the vectors."""

    # Ladybug's page cache per open graph, in MB; unset: cognee's default, 32 GB. A process's
    # memory grows with every graph page a read touches, up to this (a full audit of a 1M-node
    # graph peaked at 2.6 GB). Ladybug also builds its aggregations in this cache and fails a
    # query that does not fit: 512 MB is too small to audit 1M nodes (see BENCHMARKS.md).
    graph_buffer_pool_mb: int | None = Field(default=None, ge=64)
    # Where the graph lives: "ladybug" (one embedded file per dataset, through cognee) or
    # "neo4j" (one Neo4j 5 database shared by every dataset, each node and edge carrying its
    # dataset; vectors stay in LanceDB under the data directory). See README "Neo4j".
    graph: Literal["ladybug", "neo4j"] = "ladybug"
    neo4j_url: str = "bolt://127.0.0.1:7687"  # bolt:// (one server) or neo4j:// (routing)
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr | None = None  # required when graph = "neo4j"; never logged
    neo4j_database: str = "neo4j"  # Community has one user database: datasets share it

    @field_validator("neo4j_url")
    @classmethod
    def _bolt_url(cls, value: str) -> str:
        if not re.fullmatch(r"(bolt|neo4j)(\+s|\+ssc)?://[^/\s]+/?", value):
            scheme = value.split("://", 1)[0] if "://" in value else "no scheme"  # never the rest: a password
            raise ValueError(f"not a bolt:// or neo4j:// URL of a server ({scheme})")
        return value

    @model_validator(mode="after")
    def _password_for_neo4j(self) -> StoreSettings:
        if self.graph == "neo4j" and not (self.neo4j_password and self.neo4j_password.get_secret_value()):
            raise ValueError("COGNITION_STORE__NEO4J_PASSWORD is required when COGNITION_STORE__GRAPH=neo4j")
        return self


class LedgerSettings(BaseModel):
    """The relational database of the ledger (documents, jobs, audits, repairs) and the API keys."""

    # Unset (the embedded default): a SQLite file in the data directory. For several hosts:
    # ``postgresql://user:password@host:5432/database`` (libpq's URL form, query options such
    # as ``?sslmode=verify-full`` included). Secret: never logged, printed or put in an error.
    url: SecretStr | None = None
    # cognee's own tables (its datasets, users, permissions, pipeline runs) on Postgres, in a
    # database of their own: they cannot share the ledger's (both have ``datasets`` and
    # ``results`` tables, and cognee's prune drops everything in ``public``). Unset: with
    # ``url`` set, the same server and user, database ``<url's database>_cognee`` (created by
    # the first process when the user may); without it, SQLite in the data directory.
    cognee_url: SecretStr | None = None

    @field_validator("url", "cognee_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_postgres_url(value.get_secret_value())
        return value


POSTGRES_FORM = "postgresql://user:password@host:5432/database"


def check_postgres_url(url: str) -> None:
    """A ``ValueError`` in one line for a URL that cannot name a Postgres database; the
    message never quotes the URL (it holds the password)."""
    if "://" not in url:  # "user:password@host/db" would read as the scheme "user"
        raise ValueError(f"not a URL: expected {POSTGRES_FORM} (unset for SQLite)")
    try:
        parts = urlsplit(url)
        ports = [port for port in parts.netloc.rpartition("@")[2].split(",") if ":" in port.strip("[]")]
    except ValueError:
        raise ValueError(f"not a URL: expected {POSTGRES_FORM}") from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(
            f"not a Postgres URL (scheme {parts.scheme!r}): expected {POSTGRES_FORM} (unset for SQLite)"
        )
    if not parts.hostname and "host=" not in parts.query:
        raise ValueError(f"the URL names no host: expected {POSTGRES_FORM}")
    if not parts.path.strip("/"):
        raise ValueError(f"the URL names no database: expected {POSTGRES_FORM}")
    bad = [port.rpartition(":")[2] for port in ports if not port.rpartition(":")[2].isdigit()]
    if bad:
        raise ValueError(f"the URL's port is not a number: expected {POSTGRES_FORM}")


class Settings(BaseSettings):
    """Every setting of Cognition, from ``COGNITION_*`` variables."""

    model_config = SettingsConfigDict(
        env_prefix="COGNITION_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,  # an error never quotes a value: some are secrets (ledger.url)
    )

    data_dir: Path = Path("./.cognition")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    # text: one readable line each (a terminal); json: one JSON object per line, with the
    # request_id / job_id it belongs to (a log collector: the compose deployment sets it).
    log_format: Literal["text", "json"] = "text"
    # The password of encrypted PDFs for `cognition import` (COGNITION_PDF_PASSWORD), so it
    # need not be given as --password, which every user sees in `ps`.
    pdf_password: SecretStr | None = None
    embedding: EmbeddingSettings = EmbeddingSettings()
    gemini: GeminiSettings = GeminiSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    extraction: ExtractionSettings = ExtractionSettings()
    imports: ImportSettings = ImportSettings()
    search: SearchSettings = SearchSettings()
    crawl: CrawlSettings = CrawlSettings()
    queue: QueueSettings = QueueSettings()
    api: ApiSettings = ApiSettings()
    audit: AuditSettings = AuditSettings()
    store: StoreSettings = StoreSettings()
    ledger: LedgerSettings = LedgerSettings()

    @property
    def resolved_data_dir(self) -> Path:
        """The data directory as an absolute path."""
        return self.data_dir.expanduser().resolve()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once; a bad value is a ``ConfigurationError`` that
    names its variable in one line."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(_describe_error(exc)) from None


def _describe_error(exc: ValidationError) -> str:
    """``COGNITION_CRAWL__ALLOW_NETWORKS: 'x' is not a network (CIDR)``, one per bad value."""
    return "; ".join(
        f"COGNITION_{'__'.join(str(part) for part in error['loc'] if isinstance(part, str)).upper()}: "
        f"{error.get('ctx', {}).get('error', error['msg'])}"
        for error in exc.errors()
    )
