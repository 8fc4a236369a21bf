"""The app's services, reached from a request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.services import Services


def services_of(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


Deps = Annotated[Services, Depends(services_of)]
