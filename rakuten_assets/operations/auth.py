"""Bearer tokens (admin, client), checked the same way by every door (API, control room)."""

from __future__ import annotations

import secrets

from pydantic import SecretStr


def token_matches(given: str, expected: SecretStr | None) -> bool:
    """Constant-time comparison; with no token configured nothing matches."""
    if expected is None:
        return False
    return secrets.compare_digest(given.encode(), expected.get_secret_value().encode())
