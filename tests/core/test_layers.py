"""The package's shape, read from its source: imports point down the floors, and no function is long.

Floors, bottom up: the leaf modules (errors, clock, version, config checks, store events), then ``integrations/``
(vendor adapters and the bus, which know nothing of features), then the features (``chat/``, ``files/``,
``notify/``, ``admin/``, ``ops/``). A lower floor importing a higher one is the tangle issue 14 removed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "chatbox"
FEATURES = ("chatbox.chat", "chatbox.admin", "chatbox.files", "chatbox.notify", "chatbox.ops", "chatbox.pages")
MAX_FUNCTION_LINES = 40  # STYLE.md habit 6; the Go service's 1,500-line router is the counter-example
LEAVES = ("errors.py", "clock.py", "version.py", "config_checks.py", "llm_settings.py", "events.py")


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function, as a dotted name."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def reaching(path: Path, floors: tuple[str, ...]) -> list[str]:
    return sorted(name for name in imported_modules(path) if name == "chatbox" or name.startswith(floors))


def offenders(paths, floors) -> dict[str, list[str]]:
    found = {str(path.relative_to(PACKAGE)): reaching(path, floors) for path in paths}
    return {path: names for path, names in found.items() if names}


def test_integrations_know_nothing_of_features():
    assert offenders(sorted((PACKAGE / "integrations").glob("*.py")), FEATURES) == {}


def test_leaf_modules_import_no_feature_and_no_integration():
    paths = [PACKAGE / name for name in LEAVES]
    assert offenders(paths, (*FEATURES, "chatbox.integrations", "chatbox.settings", "chatbox.store")) == {}


def test_provider_health_does_not_reach_into_chat():
    assert offenders([PACKAGE / "admin" / "health.py"], ("chatbox.chat",)) == {}


def test_the_checker_sees_a_forbidden_import(tmp_path):
    """The walk above finds imports in every form, so an empty answer means something."""
    module = tmp_path / "adapter.py"
    module.write_text(
        "import chatbox.chat.hub\nfrom chatbox.admin import views\n\n\ndef later():\n    from chatbox import chat\n"
    )
    assert reaching(module, ("chatbox.chat", "chatbox.admin")) == [
        "chatbox",
        "chatbox.admin",
        "chatbox.admin.views",
        "chatbox.chat",
        "chatbox.chat.hub",
    ]


def long_functions(root: Path) -> list[str]:
    """``path:line name (n lines)`` for every function or method in ``root`` longer than the limit."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_no_function_is_longer_than_forty_lines():
    assert long_functions(PACKAGE) == []


@pytest.mark.parametrize("body_lines, expected", [(39, 0), (40, 1)])
def test_the_length_check_counts_the_def_line_and_the_body(tmp_path, body_lines, expected):
    (tmp_path / "m.py").write_text("def f():\n" + "    x = 1\n" * body_lines)
    assert len(long_functions(tmp_path)) == expected


def test_the_services_are_read_through_one_accessor():
    """``chatbox.context.services()`` is the only reader of ``app.extensions``: routes name no extension key."""
    readers = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "extensions[" in path.read_text() and path.name != "context.py"
    )
    assert readers == []


def test_build_hands_each_feature_its_collaborators(server):
    """The files and notify parts are built once and given to the chat core in its constructors."""
    services = server.services
    assert services.chat.files is services.files
    assert services.replies.files is services.ai_files
    assert services.chat.notifier is services.notifier
    assert services.chat.transcriber is None  # TRANSCRIPTION_PROVIDER is not set in tests
    assert services.replies.observers == [services.provider_health]
    assert services.admin_live.close in services.lifecycle.shutdown_hooks
