"""Start-up checks of the shared settings that only the API cares about."""

from __future__ import annotations

import logging
import os

from pydantic import SecretStr

from rakuten_assets.settings import Settings

log = logging.getLogger("serving")

#: Values that are obviously not secrets (copied from examples and templates).
PLACEHOLDER_TOKENS = frozenset(
    {"changethis", "changeme", "change-me", "secret", "token", "admin", "password", "test"}
)
MIN_TOKEN_CHARS = 16


class InsecureSettingsError(RuntimeError):
    """The API refuses to start with these settings outside development."""


def _weak(token: SecretStr | None) -> str | None:
    if token is None:
        return "is not set"
    value = token.get_secret_value()
    if value.strip().lower() in PLACEHOLDER_TOKENS:
        return "is a placeholder"
    if len(value) < MIN_TOKEN_CHARS:
        return f"is shorter than {MIN_TOKEN_CHARS} characters"
    return None


def check_secrets(settings: Settings) -> None:
    """Refuse missing or placeholder tokens in production; warn about them in development."""
    problem = _weak(settings.api_admin_token)
    if problem is None:
        return
    message = (
        f"API_ADMIN_TOKEN {problem}: set it to a random secret "
        "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
    )
    if settings.environment != "development":
        raise InsecureSettingsError(f"{message}; the API does not start without it in production")
    log.warning("%s; the control endpoints refuse every request until then", message)


def configure_mlflow_client(settings: Settings) -> None:
    """Bound how long one registry call may take, so an MLflow outage cannot stall the API.

    mlflow reads these from the environment on every request; its defaults (7 retries with
    exponential back-off, 120 s timeout) would keep start-up waiting for minutes.
    """
    timeout = str(max(1, round(settings.api_registry_timeout_seconds)))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", timeout)
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    # A progress bar per model download is noise in a server log.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def configure_logging() -> None:
    """Our loggers print next to uvicorn's (uvicorn only configures its own)."""
    logger = logging.getLogger("serving")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
