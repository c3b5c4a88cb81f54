"""Throwaway local resources for tests and benchmarks: server processes (free ports, default
signal handlers, stopped by PID) and scratch PostgreSQL databases."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _restore_default_signals() -> None:
    # Background processes on these machines start with SIGINT/SIGTERM ignored; servers must
    # be stoppable, so the child gets the default handlers back.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.setsid()


@contextmanager
def running(
    command: Sequence[str],
    *,
    health_url: str,
    log_path: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` until ``health_url`` answers 200; kill its process group afterwards."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            preexec_fn=_restore_default_signals,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{command[0]} exited with {process.returncode}:\n{log_path.read_text()[-3000:]}"
                )
            try:
                if httpx.get(health_url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{health_url} not healthy after {timeout} s:\n{log_path.read_text()[-3000:]}"
                )
            time.sleep(0.5)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@contextmanager
def mlflow_server(workdir: Path) -> Iterator[str]:
    """A real ``mlflow server`` (SQLite backend, served artifacts) in ``workdir``; yields its URI."""
    import sys

    port = free_port()
    command = [
        str(Path(sys.executable).parent / "mlflow"), "server",
        "--backend-store-uri", f"sqlite:///{workdir / 'mlflow-server.db'}",
        "--artifacts-destination", str(workdir / "server-artifacts"),
        "--serve-artifacts", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    with running(command, health_url=f"{uri}/health", log_path=workdir / "mlflow.log"):
        yield uri


@contextmanager
def scratch_postgres_database(admin_dsn: str, url_base: str, prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database; yields its SQLAlchemy URL and drops it afterwards.

    ``admin_dsn`` is a libpq DSN allowed to create databases, ``url_base`` the URL without the
    database name (``postgresql+psycopg://user@host:port``). The drop is forced, so connections
    a test or a benchmark left open do not keep the database alive.
    """
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{url_base}/{name}"
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
