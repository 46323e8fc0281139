"""scripts/test.sh and scripts/install-system.sh, run for real against fake tools: what `make test` does on a bare
Debian machine."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FAKE_PYTHON = """#!/bin/sh
# Records how pytest was run; fails the run named in $FAIL (main or browser).
echo "python $* | PATH=$PATH | moto=$(command -v moto_server)" >> "$LOG"
case "$*" in
  *--ignore*) [ "$FAIL" = main ] && exit 1 ;;
  *) [ "$FAIL" = browser ] && exit 1 ;;
esac
exit 0
"""


@pytest.fixture
def tree(tmp_path):
    """A copy of scripts/test.sh beside a fake .venv whose python records its calls and which has moto_server."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts/test.sh", tmp_path / "scripts/test.sh")
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    for name, text in (("python", FAKE_PYTHON), ("moto_server", "#!/bin/sh\n")):
        (venv_bin / name).write_text(text)
        (venv_bin / name).chmod(0o755)
    return tmp_path


def run_tests(tree: Path, fail: str = "") -> tuple[subprocess.CompletedProcess, list[str]]:
    # A PATH without any moto_server: only the venv can provide it.
    env = {"PATH": "/usr/bin:/bin", "LOG": str(tree / "log"), "FAIL": fail}
    result = subprocess.run(
        ["bash", str(tree / "scripts/test.sh")], capture_output=True, text=True, env=env, timeout=30, check=False
    )
    return result, (tree / "log").read_text().splitlines()


def test_both_pytest_processes_run_with_the_venv_on_path(tree):
    result, calls = run_tests(tree)
    assert result.returncode == 0, result.stderr
    assert len(calls) == 2
    main, browser = calls
    assert "--ignore=tests/browser --ignore=tests/admin_browser tests |" in main
    assert "tests/browser tests/admin_browser |" in browser
    for call in calls:
        assert f"PATH={tree}/.venv/bin:" in call and f"moto={tree}/.venv/bin/moto_server" in call


@pytest.mark.parametrize("fail", ["main", "browser"])
def test_a_failure_in_either_run_fails_the_script_after_both_ran(tree, fail):
    result, calls = run_tests(tree, fail)
    assert result.returncode == 1
    assert len(calls) == 2, "the browser tests must run even when the first run failed"
    expected = "tests: exit 1, browser tests: exit 0" if fail == "main" else "tests: exit 0, browser tests: exit 1"
    assert expected in result.stderr


FAKE_APT = '#!/bin/sh\necho "apt-get $*" >> "$LOG"\n'


def install_system(tmp_path: Path, present: list[str], python_has_venv: bool) -> list[str]:
    """Run install-system.sh as root with only fake tools on PATH; returns the apt-get calls."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir(exist_ok=True)
    tools = {
        "apt-get": FAKE_APT,
        "id": "#!/bin/sh\necho 0\n",
        "python3": f"#!/bin/sh\nexit {0 if python_has_venv else 1}\n",
        **{name: "#!/bin/sh\n" for name in present},
    }
    for name, text in tools.items():
        (fake_bin / name).write_text(text)
        (fake_bin / name).chmod(0o755)
    log = tmp_path / "apt.log"
    result = subprocess.run(
        [shutil.which("bash"), str(ROOT / "scripts/install-system.sh")],
        capture_output=True, text=True, timeout=30, check=False, env={"PATH": str(fake_bin), "LOG": str(log)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return log.read_text().splitlines() if log.exists() else []


def test_a_bare_machine_gets_python3_venv_and_the_test_servers(tmp_path):
    calls = install_system(tmp_path, present=[], python_has_venv=False)
    assert calls == ["apt-get update -qq", "apt-get install -y -qq python3-venv redis-server chromium openssl"]


def test_a_ready_machine_installs_nothing(tmp_path):
    assert install_system(tmp_path, present=["redis-server", "chromium", "openssl"], python_has_venv=True) == []


def test_make_test_installs_system_packages_before_the_venv():
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "scripts/install-system.sh" and "install" in lines[1] and lines[-1] == "scripts/test.sh"
    assert os.access(ROOT / "scripts/install-system.sh", os.X_OK) and os.access(ROOT / "scripts/test.sh", os.X_OK)
