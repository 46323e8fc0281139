"""A vendor SDK is loaded only when a provider of its type is configured: each costs tens of MiB in every worker."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import sys
from chatbox import create_app
from chatbox.settings import ProviderConfig, Settings
providers = [ProviderConfig(id="p", name="P", type=t, endpoint="http://127.0.0.1:9/v1", api_key="k", model="m")
             for t in sys.argv[1:]]
create_app(Settings.for_tests(jwt_secret="Q7vN2xLp9RzT4mWc8YhB3kDf6GsJ1aEu5PoXiVnC0bMqHr7Wt2Ky9Zs4", providers=providers))
print(" ".join(sorted(name for name in ("openai", "anthropic") if name in sys.modules)))
"""


def loaded(*types: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *types], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def test_the_demo_model_alone_loads_no_vendor_sdk():
    assert loaded() == ""


def test_each_configured_type_loads_its_own_sdk():
    assert loaded("openai") == "openai"
    assert loaded("anthropic") == "anthropic"
