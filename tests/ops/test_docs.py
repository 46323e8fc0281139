"""The operator documents agree with the code: settings, indexes, keys, paths."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from chatbox.llm_settings import PROVIDER_FIELDS
from chatbox.models import SESSION_INDEXES
from chatbox.settings import SPECS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT / "scripts"))
import config_doc


def test_configuration_doc_is_generated_from_the_settings():
    committed = (DOCS / "CONFIGURATION.md").read_text()
    assert committed == config_doc.render(), (
        f"docs/CONFIGURATION.md is out of date with chatbox/settings.py; run: {config_doc.FIX}"
    )


def test_every_setting_and_provider_field_is_documented():
    text = (DOCS / "CONFIGURATION.md").read_text()
    for spec in SPECS:
        assert re.search(rf"^\| `{spec.env}` \|", text, re.MULTILINE), spec.env
        assert spec.doc.strip(), f"{spec.env} has no doc in SPECS"
    for suffix in PROVIDER_FIELDS:
        assert config_doc.PROVIDER_DOCS.get(suffix), f"LLM_PROVIDER_<n>_{suffix} is not described in config_doc.py"


def test_check_mode_passes_on_the_committed_doc():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/config_doc.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_index_doc_names_every_index():
    text = (DOCS / "MONGODB_INDEXES.md").read_text()
    for name in [*SESSION_INDEXES, "idx_audit_session", "idx_notification_time"]:
        assert f"`{name}`" in text, name


@pytest.mark.parametrize("doc", ["DEPLOYMENT.md", "KEY_MANAGEMENT.md", "SECRET_MANAGEMENT.md"])
def test_docs_use_the_right_key_generator_and_paths(doc):
    text = (DOCS / doc).read_text()
    assert "openssl rand -base64 32" not in text.split("ENCRYPTION_KEY")[-1][:200]
    assert "/chatbox/" not in text, "the default prefix is /chat"
    assert "GITHUB_TOKEN" not in text and "go build" not in text


def test_deployment_guide_names_only_existing_files_and_targets():
    text = (DOCS / "DEPLOYMENT.md").read_text()
    for path in re.findall(r"deployments/kubernetes/([\w.-]+\.(?:yaml|template|sh))", text):
        assert (ROOT / "deployments/kubernetes" / path).exists(), path
    makefiles = (ROOT / "deployments/kubernetes/Makefile").read_text() + (ROOT / "Makefile").read_text()
    for target in set(re.findall(r"^make ([\w-]+)", text, re.MULTILINE)):
        assert re.search(rf"^{target}:", makefiles, re.MULTILINE), f"make {target} is not a target"
    assert "openssl rand -hex 16" in text


def test_a_stale_doc_is_reported_with_the_fix_command(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "CONFIGURATION.md"
    stale.write_text(config_doc.render().replace("`SERVER_PORT`", "`OLD_PORT`"))
    monkeypatch.setattr(config_doc, "DOC", stale)
    monkeypatch.setattr(config_doc, "ROOT", tmp_path)
    assert config_doc.main(["--check"]) == 1
    assert "out of date with chatbox/settings.py; run: .venv/bin/python scripts/config_doc.py --write" in (
        capsys.readouterr().err
    )
