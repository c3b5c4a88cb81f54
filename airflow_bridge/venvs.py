"""Airflow virtualenvs for the bridge's tests, built by uv from exact pins, idempotently.

Airflow never goes into the project's environment: Airflow 3 and Airflow 2.11 pin libraries
(SQLAlchemy, Flask, pendulum...) that clash with ours and with each other, and dagster-airflow
breaks Airflow 3 on import. Each target gets its own venv under ``var/airflow/venv-<target>``;
a stamp file keyed on the pins makes a second call free, and a changed pin rebuilds the venv.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rakuten_assets.settings import PROJECT_ROOT

#: Where `python -m airflow_bridge venv` builds the venvs by default (ignored by git, like var/).
DEFAULT_ROOT = PROJECT_ROOT / "var" / "airflow"
STAMP_NAME = ".airflow-bridge-stamp"


@dataclass(frozen=True)
class VenvSpec:
    """What one target's venv must contain."""

    target: str
    requirements: tuple[str, ...]


#: Exact pins. Both resolve with plain `uv pip install` from the package registry, without
#: Airflow's constraint files (those live on GitHub, which these machines cannot reach).
#: dagster-airflow pulls in dagster itself, at the same version as the project's.
SPECS: dict[str, VenvSpec] = {
    "airflow3": VenvSpec("airflow3", ("apache-airflow==3.3.2",)),
    "airflow2": VenvSpec("airflow2", ("apache-airflow==2.11.2", "dagster-airflow==1.13.27")),
}


class VenvError(RuntimeError):
    """uv is missing, or creating or filling the venv failed."""


def venv_dir(target: str, root: Path = DEFAULT_ROOT) -> Path:
    return root / f"venv-{target}"


def stamp_of(spec: VenvSpec, python: str) -> str:
    """Changes whenever the pins or the interpreter change, so the venv gets rebuilt."""
    payload = json.dumps(
        {"requirements": sorted(spec.requirements), "python": python}, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _uv() -> str:
    beside = Path(sys.executable).parent / "uv"
    if beside.exists():
        return str(beside)
    found = shutil.which("uv")
    if found is None:
        raise VenvError(
            "uv is not installed: run `make` (it installs uv into .venv) or `pip install uv`"
        )
    return found


def _python_version() -> str:
    return ".".join(str(part) for part in sys.version_info[:3])


@contextmanager
def _locked(root: Path, target: str) -> Iterator[None]:
    """One builder per venv at a time: two test runs must not interleave two installs."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / f".venv-{target}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise VenvError(
            f"`{' '.join(command)}` failed with exit code {result.returncode}:\n"
            f"{result.stderr[-4000:]}"
        )


def ensure_venv(target: str, root: Path = DEFAULT_ROOT) -> Path:
    """The venv of ``target`` with exactly its pins, built only if missing or stale."""
    if target not in SPECS:
        raise VenvError(f"unknown target {target!r}; choose one of {', '.join(sorted(SPECS))}")
    spec = SPECS[target]
    path = venv_dir(target, root)
    stamp = stamp_of(spec, _python_version())
    stamp_file = path / STAMP_NAME
    with _locked(root, target):
        if stamp_file.exists() and stamp_file.read_text().strip() == stamp:
            return path
        uv = _uv()
        # --clear: a stale or half-built venv (interrupted install) is rebuilt from nothing.
        _run([uv, "venv", "--quiet", "--clear", "--python", sys.executable, str(path)])
        python = str(path / "bin" / "python")
        _run([uv, "pip", "install", "--quiet", "--python", python, *spec.requirements])
        # Written last: its presence means the install above completed.
        stamp_file.write_text(stamp + "\n")
    return path


def airflow_executable(target: str, root: Path = DEFAULT_ROOT) -> Path:
    """The `airflow` command of ``target``'s venv (built first when needed)."""
    return ensure_venv(target, root) / "bin" / "airflow"
