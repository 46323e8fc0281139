"""Start, find and stop the benchmark's processes: each under ``timeout``, pinned with ``taskset``, stopped by PID."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from procstat import children

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
PYTHON = sys.executable
GUNICORN = os.path.join(os.path.dirname(PYTHON), "gunicorn")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cores() -> tuple[str, str] | None:
    """(server core, client core) when pinning is possible, else None (one core: client and server share it)."""
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        return "0", "1"
    return None


def base_env() -> dict[str, str]:
    """A clean environment: nothing from the caller's shell reaches the app's settings."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    return {key: os.environ[key] for key in keep if key in os.environ}


def bounded(cmd: list[str], seconds: float, core: str | None) -> list[str]:
    """Wrap a command in ``timeout`` (SIGINT, then SIGKILL 5 s later) and ``taskset`` when a core is given."""
    pinned = ["taskset", "-c", core, *cmd] if core is not None else cmd
    return ["timeout", "-k", "5", "-s", "INT", str(int(seconds)), *pinned]


class Process:
    """One started process group with its log file."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], logdir: str):
        self.name = name
        self.log_path = os.path.join(logdir, f"{name}.log")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            cmd,
            env=env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        """The command's own PID (the child of ``timeout``; taskset execs into it)."""
        kids = children(self.popen.pid)
        return kids[0] if kids else self.popen.pid

    def log_tail(self, lines: int = 15) -> str:
        with open(self.log_path, "rb") as handle:
            return b"\n".join(handle.read().splitlines()[-lines:]).decode("utf-8", "replace")

    def stop(self, pid: int | None = None) -> None:
        """SIGINT to ``pid`` (e.g. the gunicorn master) or the group; SIGKILL the group if it lingers."""
        if self.popen.poll() is None:
            try:
                os.kill(pid, signal.SIGINT) if pid else os.killpg(self.popen.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        self._log.close()


class Gunicorn(Process):
    """``gunicorn -c gunicorn.conf.py`` (the production command line) serving ``app_spec`` on 127.0.0.1."""

    def __init__(
        self,
        name: str,
        app_spec: str,
        env: dict[str, str],
        logdir: str,
        budget: float,
        core: str | None,
        pythonpath: str | None = None,
    ):
        self.port = free_port()
        self.pidfile = os.path.join(logdir, f"{name}.pid")
        env = {**env, "SERVER_PORT": str(self.port)}
        cmd = [GUNICORN, "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{self.port}", "--pid", self.pidfile]
        cmd += ["--pythonpath", pythonpath] if pythonpath else []
        super().__init__(name, bounded([*cmd, app_spec], budget, core), env, logdir)

    @property
    def master(self) -> int | None:
        try:
            with open(self.pidfile) as handle:
                return int(handle.read().strip())
        except (OSError, ValueError):
            return None

    @property
    def worker(self) -> int:
        """The gunicorn worker's PID (the process that holds the sockets), not the master's."""
        kids = children(self.master) if self.master else []
        return kids[0] if kids else 0

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        """Wait until the worker answers HTTP on ``path`` (any status). Raises RuntimeError with the log tail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5).close()
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start; its log ends with:\n{self.log_tail()}")

    def stop(self, pid: int | None = None) -> None:
        super().stop(self.master)


class Stack:
    """Everything the benchmark started; ``close`` stops it all (also on errors and Ctrl-C)."""

    def __init__(self, budget: float):
        self.budget, self.logdir = budget, tempfile.mkdtemp(prefix="chatbox-bench-")
        self.cores = cores()
        self.processes: list[Process] = []

    def gunicorn(self, name: str, app_spec: str, env: dict[str, str], pythonpath: str | None = None) -> Gunicorn:
        core = self.cores[0] if self.cores else None
        server = Gunicorn(name, app_spec, env, self.logdir, self.budget, core, pythonpath)
        self.processes.append(server)
        return server

    def fake_llm(self, k: int) -> tuple[Process, int]:
        port = free_port()
        cmd = [PYTHON, os.path.join(BENCH, "fake_llm.py"), "--port", str(port), "--k", str(k)]
        core = self.cores[1] if self.cores else None
        process = Process("fake-llm", bounded(cmd, self.budget, core), base_env(), self.logdir)
        self.processes.append(process)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return process, port
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"fake LLM did not start:\n{process.log_tail()}")

    def release(self, process: Process) -> None:
        process.stop()
        self.processes.remove(process)

    def close(self) -> None:
        while self.processes:
            self.processes.pop().stop()
