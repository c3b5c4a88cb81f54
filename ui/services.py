"""Calls to the running services (the prediction API, the Dagster webserver) over HTTP; a
service that does not answer is one line of text for the page, never a traceback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr


class ServiceDown(Exception):
    """The service did not answer, or answered with an error; the message is one line."""


@dataclass(frozen=True)
class ApiStatus:
    alive: bool
    ready: bool
    model_version: int | None
    detail: str


def _headers(token: SecretStr | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}


def api_status(api_url: str, timeout: float) -> ApiStatus:
    """Liveness and readiness of the API (`/health`, `/ready`)."""
    base = api_url.rstrip("/")
    try:
        httpx.get(f"{base}/health", timeout=timeout).raise_for_status()
        ready = httpx.get(f"{base}/ready", timeout=timeout)
    except httpx.HTTPError as exc:
        return ApiStatus(False, False, None, f"the API at {base} does not answer ({exc})")
    body = ready.json()
    if ready.status_code == 200:
        detail = f"serving v{body.get('model_version')}"
    else:
        detail = "up, but no model loaded yet"
    return ApiStatus(True, ready.status_code == 200, body.get("model_version"), detail)


def _post(url: str, body: dict[str, Any], token: SecretStr | None, timeout: float) -> Any:
    try:
        answer = httpx.post(url, json=body, headers=_headers(token), timeout=timeout)
    except httpx.HTTPError as exc:
        raise ServiceDown(f"the API at {url} does not answer ({exc})") from None
    if answer.status_code != 200:
        try:
            detail = answer.json().get("detail", answer.text)
        except ValueError:
            detail = answer.text
        raise ServiceDown(f"the API refused ({answer.status_code}): {str(detail)[:300]}")
    return answer.json()


def predict(
    api_url: str,
    designation: str,
    description: str,
    top_k: int,
    token: SecretStr | None,
    timeout: float,
) -> dict[str, Any]:
    body = {"designation": designation, "description": description or None, "top_k": top_k}
    result: dict[str, Any] = _post(f"{api_url.rstrip('/')}/predict", body, token, timeout)
    return result


def predict_batch(
    api_url: str, items: list[dict[str, Any]], token: SecretStr | None, timeout: float
) -> list[dict[str, Any]]:
    result = _post(f"{api_url.rstrip('/')}/predict/batch", {"items": items}, token, timeout)
    predictions: list[dict[str, Any]] = result["predictions"]
    return predictions


def dagster_up(dagster_url: str, timeout: float) -> str | None:
    """None when the Dagster webserver answers, else why not (one line)."""
    try:
        httpx.get(f"{dagster_url.rstrip('/')}/server_info", timeout=timeout).raise_for_status()
    except httpx.HTTPError as exc:
        return f"the Dagster webserver at {dagster_url} does not answer ({exc})"
    return None
