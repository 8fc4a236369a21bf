"""The operator page (``GET /ui``) and its login: a person's view of the datasets a key may
read, in a browser. None of these routes is in the OpenAPI document: they answer HTML to a
person, not JSON to a program.

A browser cannot send a Bearer header, so ``POST /ui/login`` checks the key (a scoped key,
or the local token of ``cognition serve``) and keeps it in a cookie: HttpOnly (no script
reads it), SameSite=Strict (no other site's page sends it), ``Secure`` over https. The
cookie is read only by the GET routes of HTML pages (``api.auth.PageCaller``); the login
and logout forms refuse a POST another origin sends.
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import COOKIE, LoginNeeded, authenticate, page_scope
from api.errors import ApiError
from api.state import Deps
from api.ui.page import SAFE_HEADERS, login_page, operator_page
from api.ui.view import operator_view

router = APIRouter(include_in_schema=False)
MAX_KEY = 512  # characters: longer is no key of ours, and is not looked up
MAX_FORM = 4096  # bytes of a login form: a key and little else


@router.get("/ui", response_class=HTMLResponse)
async def operator(request: Request, services: Deps) -> Response:
    """The page; with no key (header or cookie) the login page (a cookie whose key is no
    longer valid: the login page saying so, see ``install``)."""
    headers = request.headers
    if not (request.cookies.get(COOKIE) or headers.get("authorization") or headers.get("x-api-key")):
        return RedirectResponse("/ui/login", status_code=303, headers=SAFE_HEADERS)
    caller = await page_scope(request)
    view = await asyncio.to_thread(operator_view, services.runtime.ledger, caller)
    return _html(operator_page(view))


@router.get("/ui/login", response_class=HTMLResponse)
async def login_form() -> HTMLResponse:
    return _html(login_page())


@router.post("/ui/login", response_class=HTMLResponse)
async def login(request: Request, services: Deps) -> Response:
    """Check the key, set the cookie, and go to the page (303: the browser GETs it)."""
    _same_origin(request)
    key = await _form_key(request)
    if key is None or not key.strip() or len(key) > MAX_KEY:
        return _html(login_page("Enter an API key."), 400)
    try:
        await authenticate(services, None, key.strip())
    except ApiError as exc:
        if exc.status != 401:
            raise
        return _html(login_page("That key is not valid (unknown or revoked)."), 401)
    answer = RedirectResponse("/ui", status_code=303, headers=SAFE_HEADERS)
    secure = request.url.scheme == "https"
    answer.set_cookie(COOKIE, key.strip(), path="/", httponly=True, samesite="strict", secure=secure)
    return answer


@router.post("/ui/logout")
async def logout(request: Request) -> Response:
    _same_origin(request)
    answer = RedirectResponse("/ui/login", status_code=303, headers=SAFE_HEADERS)
    answer.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return answer


@router.get("/favicon.ico")
async def favicon() -> Response:
    """Nothing: a browser asks for it on every page, and a 404 is an error in its console."""
    return Response(status_code=204, headers={"Cache-Control": "max-age=86400"})


async def _form_key(request: Request) -> str | None:
    """The ``key`` field of a urlencoded form, read to at most ``MAX_FORM`` bytes (a larger
    body is no login form, and is not held in memory)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            return None
    values = parse_qs(body.decode("utf-8", errors="replace")).get("key")
    return values[0] if values else None


def install(app: FastAPI) -> None:
    """A page asked with a stale login cookie (its key revoked, or never valid) answers the
    login page saying why, and removes the cookie: never a JSON error or a 500."""

    async def login_needed(request: Request, exc: Exception) -> Response:
        answer = _html(login_page(f"{exc}: log in again with a valid key."), 401)
        answer.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return answer

    app.add_exception_handler(LoginNeeded, login_needed)


def _same_origin(request: Request) -> None:
    """A form POST from another site's page (login CSRF: logging a person in with the
    attacker's key) is refused: a browser names the page's origin in ``Origin``."""
    origin = request.headers.get("origin")
    if origin is None:  # not a browser's form (or a browser too old to say): SameSite still holds
        return
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if origin != own:
        raise ApiError(403, "Forbidden", "a form of another site posted here", "log in from /ui/login")


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=SAFE_HEADERS)
