"""``uvicorn api.main:app --factory``: the app from the environment's settings (what
`cognition serve` runs, and what a container runs), logging as every entry point does."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app
from cognition import logs
from cognition.settings import get_settings


def app() -> FastAPI:
    settings = get_settings()
    logs.configure(settings)
    return create_app(settings)
