"""`rakuten_assets.processes.run_command`: how tests run the CLI and explain a hang."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest

from rakuten_assets.processes import CommandTimeoutError, run_command

# A child that answers, then leaves a grandchild holding its stdout and stderr open, the way
# Dagster's compute-log `tail -F` did when the `rakuten demo` tests hung until their timeout.
LEAVES_A_GRANDCHILD = textwrap.dedent(
    """
    import subprocess, sys
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    print("answered")
    """
)

SLEEPS_IN_A_THREAD = textwrap.dedent(
    """
    import threading, time
    def stuck_in_the_worker():
        time.sleep(3600)
    threading.Thread(target=stuck_in_the_worker, name="worker").start()
    print("started", flush=True)
    time.sleep(3600)
    """
)


def _alive(pid: int) -> bool:
    """Running (a killed orphan may stay a zombie until its new parent reaps it)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\tZ (zombie)" not in status


@pytest.mark.timeout(120)
def test_a_grandchild_holding_the_output_does_not_keep_the_caller_waiting() -> None:
    result = run_command([sys.executable, "-c", LEAVES_A_GRANDCHILD], timeout=60)

    assert result.returncode == 0
    assert result.stdout == "answered\n"


def test_leftover_processes_of_the_command_are_killed() -> None:
    script = LEAVES_A_GRANDCHILD.replace('print("answered")', "print(child.pid)").replace(
        "subprocess.Popen(", "child = subprocess.Popen("
    )
    result = run_command([sys.executable, "-c", script], timeout=60)

    grandchild = int(result.stdout)
    deadline = time.monotonic() + 30  # SIGKILL is delivered asynchronously
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def test_a_timeout_shows_every_threads_python_stack_and_the_output_tail() -> None:
    with pytest.raises(CommandTimeoutError) as raised:
        run_command([sys.executable, "-c", SLEEPS_IN_A_THREAD], timeout=3)

    message = str(raised.value)
    assert "still running after 3 s" in message
    assert "stuck_in_the_worker" in message  # the worker thread's frame, from faulthandler
    assert "started" in message.split("--- stdout ---")[1]


def test_the_exit_code_and_both_streams_come_back() -> None:
    script = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"
    result = run_command([sys.executable, "-c", script], timeout=60)

    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")
