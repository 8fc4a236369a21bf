"""``uvicorn api.main:app --factory``: the app from the environment's settings (what
`cognition serve` runs, and what a container runs)."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app
from cognition.settings import get_settings


def app() -> FastAPI:
    return create_app(get_settings())
