"""google-genai reads ``requests`` from ``sys.modules`` while building each response
(``_common.loaded_requests``): when another thread is importing ``requests`` at that moment
(cognee's import as the store starts, alongside an import's first Gemini calls) it finds the
module half made and the call fails with ``AttributeError: partially initialized module
'requests' has no attribute 'structures'`` (seen once in the budget tests). A client is only
made once ``requests`` is wholly imported, so the SDK never sees it half made."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import REPO_ROOT

CHECK = """
import sys
from cognition.embedding.gemini import make_client
from cognition.settings import GeminiSettings
assert "requests" not in sys.modules, "imported before the client"
make_client(GeminiSettings(api_key="k", base_url="http://127.0.0.1:9"))
module = sys.modules.get("requests")
assert module is not None and hasattr(module, "structures"), "requests not loaded by the client"
"""


def test_a_gemini_client_is_made_with_requests_wholly_imported() -> None:
    done = subprocess.run([sys.executable, "-c", CHECK], cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
