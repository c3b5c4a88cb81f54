"""Airflow virtualenvs for the bridge's tests, built by uv from exact pins, idempotently.

Airflow never goes into the project's environment: Airflow 3 and Airflow 2.11 pin libraries
(SQLAlchemy, Flask, pendulum...) that clash with ours and with each other, and dagster-airflow
breaks Airflow 3 on import. Each target gets its own venv under ``var/airflow/venv-<target>``,
installed from its lock file (``airflow_bridge/locks/<target>.txt``, every transitive package
pinned; `make lock` rewrites them); a stamp keyed on the lock makes a second call free, and a
changed lock rebuilds the venv.
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
LOCK_DIR = Path(__file__).resolve().parent / "locks"


@dataclass(frozen=True)
class VenvSpec:
    """What one target's venv must contain: ``locks/<target>.in`` (the exact pins asked for)
    resolved into ``locks/<target>.txt`` (every package the venv gets)."""

    target: str

    @property
    def requirements_file(self) -> Path:
        return LOCK_DIR / f"{self.target}.in"

    @property
    def lock_file(self) -> Path:
        return LOCK_DIR / f"{self.target}.txt"

    @property
    def requirements(self) -> tuple[str, ...]:
        lines = self.requirements_file.read_text().splitlines()
        return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


#: Both resolve with plain uv from the package registry, without Airflow's constraint files
#: (those live on GitHub, which these machines cannot reach). dagster-airflow (airflow2) pulls
#: in dagster itself, at the same version as the project's.
SPECS: dict[str, VenvSpec] = {target: VenvSpec(target) for target in ("airflow3", "airflow2")}


class VenvError(RuntimeError):
    """uv is missing, or creating or filling the venv failed."""


def venv_dir(target: str, root: Path = DEFAULT_ROOT) -> Path:
    return root / f"venv-{target}"


def stamp_of(spec: VenvSpec, python: str) -> str:
    """Changes whenever the lock or the interpreter change, so the venv gets rebuilt."""
    payload = json.dumps(
        {"lock": spec.lock_file.read_text(), "python": python, "bytecode": True}, sort_keys=True
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
        # --compile-bytecode: Airflow imports thousands of modules in every task and CLI call;
        # without .pyc files (PYTHONDONTWRITEBYTECODE) each process compiles them again.
        _run([
            uv, "pip", "sync", "--quiet", "--compile-bytecode", "--python", python,
            str(spec.lock_file),
        ])  # fmt: skip
        # Written last: its presence means the install above completed.
        stamp_file.write_text(stamp + "\n")
    return path


def write_lock(target: str) -> Path:
    """Resolve ``target``'s requirements again (for this Python) into its lock file."""
    spec = SPECS[target]
    spec.lock_file.parent.mkdir(parents=True, exist_ok=True)
    _run([
        _uv(), "pip", "compile", "--quiet", "--no-header", "--no-annotate", "--python-version", _python_minor(),
        "--output-file", str(spec.lock_file), str(spec.requirements_file),
    ])  # fmt: skip
    return spec.lock_file


def _python_minor() -> str:
    return ".".join(str(part) for part in sys.version_info[:2])


def locked_versions(target: str) -> dict[str, str]:
    """Package name (lower case) -> version, as the lock file of ``target`` pins them."""
    pins = {}
    for line in SPECS[target].lock_file.read_text().splitlines():
        if "==" in line and not line.startswith(("#", " ")):
            name, version = line.split(";")[0].strip().split("==")
            pins[name.lower()] = version
    return pins


def airflow_executable(target: str, root: Path = DEFAULT_ROOT) -> Path:
    """The `airflow` command of ``target``'s venv (built first when needed)."""
    return ensure_venv(target, root) / "bin" / "airflow"
