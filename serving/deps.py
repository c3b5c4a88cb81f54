"""Dependencies of the routers: the shared state and the bearer-token checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from rakuten_assets.operations.auth import token_matches
from serving import metrics
from serving.state import ServingState


async def get_state(request: Request) -> ServingState:
    state: ServingState = request.app.state.serving
    return state


StateDep = Annotated[ServingState, Depends(get_state)]

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <token>`")
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _check(credentials: HTTPAuthorizationCredentials | None, expected: SecretStr | None) -> None:
    if credentials is None:
        metrics.ERRORS.labels("unauthenticated").inc()
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing bearer token (Authorization: Bearer <token>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not token_matches(credentials.credentials, expected):
        metrics.ERRORS.labels("forbidden").inc()
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="invalid token for this endpoint")


async def require_admin(state: StateDep, credentials: CredentialsDep) -> None:
    _check(credentials, state.settings.api_admin_token)


async def require_client(state: StateDep, credentials: CredentialsDep) -> None:
    """Predictions are open unless API_CLIENT_TOKEN is set."""
    if state.settings.api_client_token is not None:
        _check(credentials, state.settings.api_client_token)


AdminDep = Depends(require_admin)
ClientDep = Depends(require_client)
