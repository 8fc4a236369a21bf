"""The embedder port: texts in, unit vectors out.

The local ONNX model (``cognition.embedding.local``) is the first adapter; a Gemini one
implements the same protocol. Vectors travel with the chunks they belong to (the pipeline
embeds a batch, the store receives chunks and vectors together). Only a paid provider's
vectors are kept by text, in the result cache (``cognition.cache``): the local model is
faster than a lookup.
``model_id`` and ``dimensions`` are recorded per dataset, and a dataset is never searched or
written with another model's vectors (see ``cognition.runtime``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
Purpose = Literal["document", "query"]


class Embedder(Protocol):
    """Turns texts into float32 unit vectors, one row per text, in input order."""

    @property
    def model_id(self) -> str:
        """Names the model and anything that changes its vectors (recorded per dataset)."""
        ...

    @property
    def dimensions(self) -> int: ...

    @property
    def max_batch(self) -> int:
        """Texts per call the adapter prefers (callers may pass more; it splits them)."""
        ...

    async def embed(
        self,
        texts: Sequence[str],
        purpose: Purpose = "document",
        progress: Callable[[float], None] | None = None,
    ) -> Vectors:
        """Vectors of ``texts``. ``progress`` hears the share done (0 to 1) now and then,
        from any thread."""
        ...

    def close(self) -> None: ...
