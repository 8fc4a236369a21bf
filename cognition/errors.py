"""The error tree of Cognition.

::

    CognitionError
    ├── ConfigurationError        settings or environment cannot work (bad model files, ...)
    │   └── EmbeddingMismatch     a dataset's vectors were made by another embedding model
    ├── StoreBusy                 a dataset is being written; retry shortly (retryable)
    ├── DatabaseUnavailable       the ledger's Postgres cannot be reached or lost a connection (retryable)
    ├── DocumentBusy              a document is being imported; delete it when that ends (retryable)
    ├── DatasetError
    │   ├── DatasetNotFoundError  a read names a dataset that does not exist
    │   └── InvalidDatasetName    a name that cannot be a dataset
    ├── NotFound                  a document, job, chunk or entity that does not exist
    ├── Forbidden                 the caller may read a dataset but not do this to it
    ├── ManifestError             a dataset manifest that cannot be used
    ├── SearchError               a query that cannot run (bad mode, bad top-k)
    └── DocumentError             one document cannot be imported; it fails alone
        ├── SourceUnreadable      the path cannot be opened or read
        ├── EmptyFile             zero bytes
        ├── NotAPdf               the bytes are not a PDF
        ├── EncryptedPdf          a password is needed, or the one given is wrong
        ├── UnreadablePdf         a PDF whose structure cannot be parsed
        ├── TooManyPages          more pages than ``imports.max_pages``
        ├── SourceChanged         the bytes read are not the ones hashed: the file changed
        ├── UnsupportedContent    bytes of a kind this source cannot read
        └── CrawlError            one URL of a crawl cannot be imported
            ├── BlockedUrl        refused before any request: not http(s), no host
            │   └── BlockedAddress  the host resolves to an address the SSRF guard refuses
            ├── HttpStatusError   the server answered 4xx (permanent) or 5xx (transient)
            ├── RedirectError     too many redirects, or a redirect loop
            ├── TooLarge          the response is bigger than the configured cap
            └── FetchFailed       timeout or connection failure (transient)

``retryable`` says whether the same request can succeed later unchanged.
A ``DocumentError`` is permanent (retrying the same bytes gives the same answer), except a
``CrawlError`` whose ``permanent`` is false: the same URL may work later.
Constructors never log; the caller records the error where it belongs.
"""

from __future__ import annotations


class CognitionError(Exception):
    """Root of every error Cognition raises on purpose."""

    retryable = False


class ConfigurationError(CognitionError):
    """The configuration or installation cannot work as given."""


class DatabaseUnavailable(CognitionError):
    """The ledger's Postgres refused or lost a connection. The message names the server
    without its password."""

    retryable = True


class EmbeddingMismatch(ConfigurationError):
    """A dataset is written or searched with another embedding model than it was built with."""

    def __init__(
        self, dataset: str, built: str, dimensions: int, current: str, current_dimensions: int
    ) -> None:
        super().__init__(
            f"dataset {dataset!r} was built with the embedding model {built} ({dimensions} dimensions); "
            f"this process embeds with {current} ({current_dimensions} dimensions): mixed vectors would "
            "corrupt search. Switch the embedding settings back, or import into a new dataset."
        )
        self.dataset = dataset


class StoreBusy(CognitionError):
    """A read waited its bounded time for a write of the same dataset to end."""

    retryable = True

    def __init__(self, dataset: str, waited: float) -> None:
        super().__init__(
            f"dataset {dataset!r} is being written by another process (waited {waited:.0f} s): retry shortly"
        )
        self.dataset = dataset


class DocumentBusy(CognitionError):
    """A document that is queued or being imported cannot be deleted now: its import would
    write it again. Retry when its job has ended."""

    retryable = True


class DatasetError(CognitionError):
    """A problem with a dataset name or its existence."""


class DatasetNotFoundError(DatasetError):
    """A dataset named in a read does not exist."""

    def __init__(self, name: str) -> None:
        super().__init__(f"dataset not found: {name!r}")
        self.name = name


class InvalidDatasetName(DatasetError):
    """A dataset name that breaks the naming rule."""


class NotFound(CognitionError):
    """Something named by id does not exist (or is outside the caller's scope: the API
    answers both alike). ``what`` is "document", "job", "chunk" or "entity"."""

    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} not found: {ident!r}")
        self.what = what
        self.ident = ident


class Forbidden(CognitionError):
    """The caller's key may see the dataset but lacks the right for this action."""


class ManifestError(CognitionError):
    """A dataset manifest that cannot be used."""


class SearchError(CognitionError):
    """A search request that cannot run."""


class DocumentError(CognitionError):
    """One document cannot be imported. Permanent: the same bytes fail the same way."""

    reason = "document error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(f"{self.reason}: {detail}" if detail else self.reason)
        self.detail = detail


class SourceUnreadable(DocumentError):
    reason = "unreadable path"


class EmptyFile(DocumentError):
    reason = "empty file (0 bytes)"


class NotAPdf(DocumentError):
    reason = "not a PDF"


class EncryptedPdf(DocumentError):
    reason = "encrypted: supply a password"


class UnreadablePdf(DocumentError):
    reason = "not a readable PDF"


class TooManyPages(DocumentError):
    reason = "too many pages"


class SourceChanged(DocumentError):
    """The file was replaced or rewritten after it was hashed: its text is not stored under
    a hash that names other bytes. A rerun hashes the new bytes and imports them."""

    reason = "changed while importing"


class UnsupportedContent(DocumentError):
    reason = "unsupported content"


class CrawlError(DocumentError):
    """One URL of a crawl cannot be imported; ``permanent`` says whether a retry can help."""

    reason = "crawl error"
    permanent = True

    def __init__(self, message: str, *, permanent: bool | None = None) -> None:
        CognitionError.__init__(self, message)
        self.detail = message
        if permanent is not None:
            self.permanent = permanent


class BlockedUrl(CrawlError):
    """The crawler refuses the URL before sending anything."""


class BlockedAddress(BlockedUrl):
    """The URL's host is, or resolves to, an address the SSRF guard refuses."""


class HttpStatusError(CrawlError):
    """The server answered with an error status."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}", permanent=status < 500 and status not in (408, 429))
        self.status = status


class RedirectError(CrawlError):
    """Too many redirects, a redirect loop, or a redirect without a usable target."""


class TooLarge(CrawlError):
    """The response exceeds the size cap."""


class FetchFailed(CrawlError):
    """The request timed out or the connection failed; the same URL may work later."""

    permanent = False
