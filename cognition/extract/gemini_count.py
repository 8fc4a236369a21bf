"""Counting prompt tokens with the Gemini API's ``countTokens`` (free of charge, a quota of
its own), for ``cognition estimate --count api``: the provider's own tokenizer, since none
can be installed offline.

Prompts are sent ``per_call`` at a time, one ``Content`` each (the total is what one call
answers), through a governor of their own (``gemini.count_quota``, keyed apart from the
model's ``generateContent`` quota, which counting must not spend).
"""

from __future__ import annotations

from collections.abc import Sequence

from google.genai import types

from cognition.embedding.gemini import api_key, make_client
from cognition.extract.gemini import estimate_tokens
from cognition.governor.factory import open_governor
from cognition.settings import Settings


async def count_prompt_tokens(
    settings: Settings, prompts: Sequence[str], per_call: int = 50
) -> tuple[int, int]:
    """The input tokens of ``prompts`` as the extraction model counts them, and the calls made."""
    gemini = settings.gemini
    model = gemini.extraction_model
    client = make_client(gemini)
    governor = open_governor(settings, f"{model}:countTokens", gemini.count_quota, api_key(gemini))
    total = calls = 0
    try:
        for start in range(0, len(prompts), per_call):
            part = prompts[start : start + per_call]
            contents = [types.Content(role="user", parts=[types.Part(text=p)]) for p in part]

            async def call(contents: list[types.Content] = contents) -> types.CountTokensResponse:
                return await client.aio.models.count_tokens(model=model, contents=contents)

            answer = await governor.call(call, tokens=sum(estimate_tokens(p) for p in part))
            total += answer.total_tokens or 0
            calls += 1
    finally:
        await client.aio.aclose()
        client.close()
        await governor.close()
    return total, calls
