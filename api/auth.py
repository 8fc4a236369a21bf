"""Who is asking: an API key (``Authorization: Bearer …`` or ``X-API-Key``), its scope, and
its request rate. Every route but the health checks depends on ``scope``; no default key
or password exists.

A browser cannot send a header, so the HTML pages (the operator page, the audit report)
also take the key from the login cookie (``COOKIE``, set by ``POST /ui/login``), and only on
a GET: no route that changes anything ever reads the cookie, so there is nothing to forge
across sites (``PageCaller``)."""

from __future__ import annotations

import hmac
import math
from typing import Annotated

from fastapi import Depends, Request

from api.errors import ApiError
from api.services import Services
from api.state import services_of
from cognition.keys import ApiKey
from ingest.scope import Scope

COOKIE = "cognition_key"  # the login cookie: the key itself, HttpOnly, SameSite=Strict


async def authenticate(
    services: Services, authorization: str | None, api_key: str | None, cookie: str | None = None
) -> Scope:
    """The scope of the key in the headers (else the cookie), or a 401; a key over its
    rate, a 429."""
    secret = api_key or _bearer(authorization) or cookie
    if not secret:
        raise ApiError(
            401,
            "Unauthenticated",
            "this route needs an API key",
            "send 'Authorization: Bearer <key>'; an admin creates keys with `cognition keys create`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if services.local_token and hmac.compare_digest(secret.encode(), services.local_token.encode()):
        return Scope.everything("local")
    key = services.keys.authenticate(secret)
    if key is None:
        raise ApiError(
            401,
            "Unauthenticated",
            "the API key is not valid (unknown or revoked)",
            "check the key; `cognition keys list` shows which keys exist",
            headers={"WWW-Authenticate": "Bearer"},
        )
    wait = await services.limiter.admit(key.id)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise ApiError(
            429,
            "RateLimited",
            f"this key made more than {services.settings.api.rate_limit_per_minute} requests a minute",
            f"retry after {seconds} s",
            retryable=True,
            headers={"Retry-After": str(seconds)},
        )
    return of_key(key)


def of_key(key: ApiKey) -> Scope:
    return Scope(key.allows, key.id)


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def _scope(request: Request) -> Scope:
    return await authenticate(
        services_of(request), request.headers.get("authorization"), request.headers.get("x-api-key")
    )


Caller = Annotated[Scope, Depends(_scope)]


class LoginNeeded(Exception):
    """The login cookie's key is not valid (unknown or revoked): a browser is shown the
    login page saying so, not a JSON error (``api.routes.ui`` renders it)."""


async def page_scope(request: Request) -> Scope:
    """As ``_scope``, and the login cookie on a GET (the HTML pages are GET routes)."""
    authorization, api_key = request.headers.get("authorization"), request.headers.get("x-api-key")
    cookie = request.cookies.get(COOKIE) if request.method in ("GET", "HEAD") else None
    try:
        return await authenticate(services_of(request), authorization, api_key, cookie)
    except ApiError as exc:
        if exc.status == 401 and cookie and not (api_key or _bearer(authorization)):
            raise LoginNeeded(exc.detail) from None
        raise


PageCaller = Annotated[Scope, Depends(page_scope)]
"""The caller of an HTML page: a header's key, or the login cookie's."""
