"""Throwaway local resources for tests and benchmarks: server processes (free ports, default
signal handlers, stopped by PID) and scratch PostgreSQL databases."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

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


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _tail(stream: IO[bytes], size: int = 4000) -> str:
    stream.seek(0)
    return stream.read().decode(errors="replace")[-size:]


class CommandTimeoutError(AssertionError):
    """A command outlived its timeout; the message carries its Python stacks and output tail."""


def run_command(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 600.0,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` to completion, as ``subprocess.run(capture_output=True, text=True)`` would.

    The output goes to files, not pipes, so a grandchild that keeps them open (Dagster's
    compute-log ``tail -F``, a server) cannot make the caller wait forever; the command runs in
    its own session, whose leftovers are killed when it ends. On timeout the command gets
    SIGABRT first, so faulthandler (``PYTHONFAULTHANDLER=1``) prints every thread's Python stack
    to its stderr, and the error shows that and the tail of its output.
    """
    child_env = {**(os.environ if env is None else env), "PYTHONFAULTHANDLER": "1"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            list(command),
            stdout=out,
            stderr=err,
            env=child_env,
            cwd=cwd,
            preexec_fn=_restore_default_signals,
        )
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
            _kill_group(process.pid, signal.SIGKILL)
            process.wait()
            raise CommandTimeoutError(
                f"{' '.join(command)} still running after {timeout:.0f} s; killed.\n"
                f"--- stderr (Python stacks at the end) ---\n{_tail(err, 12000)}\n"
                f"--- stdout ---\n{_tail(out)}"
            ) from None
        finally:
            _kill_group(process.pid, signal.SIGKILL)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(
            list(command),
            process.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


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
def mlflow_server(
    workdir: Path, artifacts_destination: str | None = None, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """A real ``mlflow server`` (SQLite backend, served artifacts) in ``workdir``; yields its URI.

    Artifacts go to ``artifacts_destination`` (e.g. ``s3://bucket/path``, with the S3 settings
    in ``env``), by default a folder of ``workdir``.
    """
    import sys

    port = free_port()
    command = [
        str(Path(sys.executable).parent / "mlflow"), "server",
        "--backend-store-uri", f"sqlite:///{workdir / 'mlflow-server.db'}",
        "--artifacts-destination", artifacts_destination or str(workdir / "server-artifacts"),
        "--serve-artifacts", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    # MLflow 3's server starts seven job-queue consumers (GenAI scorers, trace rollups) that
    # poll all the time: about a core's worth of CPU here, for features the platform never uses.
    server_env = {**(env or {}), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    with running(
        command, health_url=f"{uri}/health", log_path=workdir / "mlflow.log", env=server_env
    ):
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
