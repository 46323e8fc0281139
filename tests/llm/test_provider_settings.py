"""Provider configuration from TOML (both spellings) and LLM_PROVIDER_<n>_* variables: good and bad tables."""

import pytest

from chatbox.settings import ProviderConfig, Settings, SettingsError

BASE = {"CHATBOX_ENV": "test", "JWT_SECRET": "x" * 48}
OPENAI = {
    "LLM_PROVIDER_1_ID": "gpt",
    "LLM_PROVIDER_1_TYPE": "openai",
    "LLM_PROVIDER_1_ENDPOINT": "https://api.openai.com/v1",
    "LLM_PROVIDER_1_API_KEY": "sk-real",
}


def load(env=None, toml: str = "", tmp_path=None) -> Settings:
    path = None
    if toml:
        path = tmp_path / "config.toml"
        path.write_text(toml)
    return Settings.load({**BASE, **(env or {})}, toml_path=str(path) if path else None)


def test_every_field_from_the_environment():
    settings = load(
        {
            "LLM_PROVIDER_1_ID": "local",
            "LLM_PROVIDER_1_NAME": "Llama on Ollama",
            "LLM_PROVIDER_1_TYPE": "openai",
            "LLM_PROVIDER_1_ENDPOINT": "http://ollama:11434/v1",
            "LLM_PROVIDER_1_API_KEY": "  sk-with-newline\n",
            "LLM_PROVIDER_1_MODEL": "llama3.1:8b",
            "LLM_PROVIDER_1_MAX_TOKENS": "2048",
            "LLM_PROVIDER_1_TEMPERATURE": "0.3",
            "LLM_PROVIDER_1_SYSTEM_PROMPT": "Be brief.",
            "LLM_PROVIDER_1_FALLBACK": "claude",
            "LLM_PROVIDER_2_ID": "claude",
            "LLM_PROVIDER_2_TYPE": "anthropic",
            "LLM_PROVIDER_2_ENDPOINT": "https://api.anthropic.com/v1",
            "LLM_PROVIDER_2_API_KEY": "sk-ant",
        }
    )
    assert settings.providers == (
        ProviderConfig(
            id="local",
            name="Llama on Ollama",
            type="openai",
            endpoint="http://ollama:11434/v1",
            api_key="sk-with-newline",
            model="llama3.1:8b",
            max_tokens=2048,
            temperature=0.3,
            system_prompt="Be brief.",
            fallback="claude",
        ),
        ProviderConfig(
            id="claude", name="claude", type="anthropic", endpoint="https://api.anthropic.com/v1", api_key="sk-ant"
        ),
    )
    assert "sk-with-newline" not in repr(settings.providers)


@pytest.mark.parametrize("section", ["llm.providers", "chatbox.llm.providers"])
def test_toml_in_both_spellings_with_environment_overrides(section, tmp_path):
    toml = f"""
[[{section}]]
id = "openai-gpt4"
name = "GPT-4"
type = "openai"
endpoint = "https://api.openai.com/v1"
apiKey = "sk-from-file"
model = "gpt-4"
maxTokens = "512"

[[{section}]]
id = "dify-assistant"
name = "Dify Assistant"
type = "dify"
endpoint = "https://api.dify.ai/v1"
apiKey = "PLACEHOLDER_DIFY_KEY"
systemPrompt = "unused by dify"
"""
    settings = load({"LLM_PROVIDER_2_API_KEY": "app-real", "LLM_PROVIDER_1_MODEL": "gpt-4o"}, toml, tmp_path)
    first, second = settings.providers
    assert (first.id, first.name, first.model, first.api_key, first.max_tokens) == (
        "openai-gpt4",
        "GPT-4",
        "gpt-4o",
        "sk-from-file",
        512,
    )
    assert (second.id, second.type, second.api_key, second.system_prompt) == (
        "dify-assistant",
        "dify",
        "app-real",
        "unused by dify",
    )


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://api.openai.com/v1",
        "http://localhost:11434/v1",
        "http://127.0.0.1:8000/v1",
        "http://10.1.2.3/v1",
        "http://192.168.1.20:8080",
        "http://ollama:11434/v1",
        "http://vllm.ai.svc.cluster.local/v1",
        "http://llama.internal/v1",
        "http://[::1]:8080/v1",
    ],
)
def test_good_endpoints(endpoint):
    (config,) = load({**OPENAI, "LLM_PROVIDER_1_ENDPOINT": endpoint}).providers
    assert config.endpoint == endpoint


P1 = "LLM provider 1 (LLM_PROVIDER_1_*)"


@pytest.mark.parametrize(
    "env, error",
    [
        (
            {"LLM_PROVIDER_1_ENDPOINT": "http://api.openai.com/v1"},
            f"{P1}: endpoint must use https (http is allowed only for internal hosts): http://api.openai.com/v1",
        ),
        (
            {"LLM_PROVIDER_1_ENDPOINT": "http://8.8.8.8/v1"},
            f"{P1}: endpoint must use https (http is allowed only for internal hosts): http://8.8.8.8/v1",
        ),
        (
            {"LLM_PROVIDER_1_ENDPOINT": "ftp://files.example.com"},
            f"{P1}: endpoint 'ftp://files.example.com' is not an http(s) URL with a host",
        ),
        ({"LLM_PROVIDER_1_ENDPOINT": "https://"}, f"{P1}: endpoint 'https://' is not an http(s) URL with a host"),
        ({"LLM_PROVIDER_1_TYPE": "gemini"}, f"{P1}: type must be one of openai, anthropic, dify, demo (got 'gemini')"),
        ({"LLM_PROVIDER_1_ID": ""}, f"{P1}: id is required"),
        ({"LLM_PROVIDER_1_TYPE": ""}, f"{P1}: type is required"),
        ({"LLM_PROVIDER_1_ENDPOINT": ""}, f"{P1}: endpoint is required"),
        (
            {"LLM_PROVIDER_1_API_KEY": "REPLACE_WITH_YOUR_KEY"},
            f"{P1}: the API key is a placeholder; set LLM_PROVIDER_1_API_KEY",
        ),
        (
            {"LLM_PROVIDER_1_TYPE": "anthropic", "LLM_PROVIDER_1_API_KEY": ""},
            f"{P1}: an API key is required for type anthropic; set LLM_PROVIDER_1_API_KEY",
        ),
        (
            {"LLM_PROVIDER_1_TYPE": "dify", "LLM_PROVIDER_1_API_KEY": ""},
            f"{P1}: an API key is required for type dify; set LLM_PROVIDER_1_API_KEY",
        ),
        ({"LLM_PROVIDER_1_MAX_TOKENS": "lots"}, "LLM_PROVIDER_1_MAX_TOKENS = 'lots' is not a valid int"),
        ({"LLM_PROVIDER_1_MAX_TOKENS": "0"}, f"{P1}: max_tokens must be at least 1 (got 0)"),
        ({"LLM_PROVIDER_1_TEMPERATURE": "warm"}, "LLM_PROVIDER_1_TEMPERATURE = 'warm' is not a valid float"),
        ({"LLM_PROVIDER_1_FALLBACK": "nope"}, "LLM provider 'gpt': fallback 'nope' is not a configured provider id"),
        ({"LLM_PROVIDER_1_FALLBACK": "gpt"}, "LLM provider 'gpt': fallback cannot be the provider itself"),
        ({"LLM_PROVIDER_2_ID": "gpt", "LLM_PROVIDER_2_TYPE": "demo"}, "LLM provider id 'gpt' is configured twice"),
        (
            {"LLM_PROVIDER_1_APIKEY": "sk"},
            (
                "LLM_PROVIDER_1_APIKEY is not a provider setting: use "
                "LLM_PROVIDER_<n>_<field> with n from 1 and field one of ID, NAME, TYPE, ENDPOINT, API_KEY, MODEL, "
                "MAX_TOKENS, TEMPERATURE, SYSTEM_PROMPT, FALLBACK"
            ),
        ),
        (
            {"LLM_PROVIDER_0_ID": "zero"},
            (
                "LLM_PROVIDER_0_ID is not a provider setting: use LLM_PROVIDER_<n>_<field> "
                "with n from 1 and field one of ID, NAME, TYPE, ENDPOINT, API_KEY, MODEL, MAX_TOKENS, TEMPERATURE, "
                "SYSTEM_PROMPT, FALLBACK"
            ),
        ),
        (
            {"LLM_DEFAULT_MODEL": "claude"},
            ("LLM_DEFAULT_MODEL 'claude' is not a configured provider id (configured: gpt)"),
        ),
        ({"LLM_DEFAULT_MODEL": "demo"}, "LLM_DEFAULT_MODEL 'demo' is not a configured provider id (configured: gpt)"),
    ],
)
def test_bad_environment_configs(env, error):
    with pytest.raises(SettingsError) as caught:
        load({**OPENAI, **env})
    assert str(caught.value) == error
    assert "sk-real" not in str(caught.value)


def test_a_bad_api_key_value_is_never_echoed():
    # Keys are plain strings, so only a placeholder can be refused; the message names the variable, not the value.
    with pytest.raises(SettingsError) as caught:
        load({**OPENAI, "LLM_PROVIDER_1_API_KEY": "sk-PLACEHOLDER-123"})
    assert "sk-PLACEHOLDER-123" not in str(caught.value)


@pytest.mark.parametrize(
    "fields, error",
    [
        ('maxTokens = "many"', "LLM provider 1: max_tokens = 'many' is not a valid int"),
        ("temperature = true", "LLM provider 1: temperature = True is not a valid float"),
        ('colour = "blue"', "LLM provider 1 (LLM_PROVIDER_1_*): unknown keys colour"),
        (
            'type = "palm"',
            ("LLM provider 1 (LLM_PROVIDER_1_*): type must be one of openai, anthropic, dify, demo (got 'palm')"),
        ),
    ],
)
def test_bad_toml_configs(fields, error, tmp_path):
    lines = {"id": 'id = "gpt"', "type": 'type = "openai"', "endpoint": 'endpoint = "https://api.openai.com/v1"'}
    key = fields.split(" = ")[0]
    lines[key] = fields
    with pytest.raises(SettingsError) as caught:
        load({}, "[[llm.providers]]\n" + "\n".join(lines.values()) + "\n", tmp_path)
    assert str(caught.value) == error


def test_default_model_and_models_list_in_configuration_order(make_server, connect):
    configs = [ProviderConfig(id=i, name=f"Model {i}", type="demo") for i in ("zeta", "alpha", "mid")]
    server = make_server(providers=configs, llm_default_model="mid")
    client = connect("erin", target=server)
    client.send(type="user_message", content="hello")
    frames = client.reply()
    status = next(f for f in frames if f["type"] == "connection_status")
    assert status["models"] == [
        {"id": "zeta", "name": "Model zeta"},
        {"id": "alpha", "name": "Model alpha"},
        {"id": "mid", "name": "Model mid"},
    ]
    assert status["model_id"] == "mid"
    assert frames[-1]["model_id"] == "mid"


def test_first_configured_provider_is_the_default(make_server, connect):
    configs = [ProviderConfig(id=i, name=i, type="demo") for i in ("first", "second")]
    client = connect("erin", target=make_server(providers=configs))
    client.send(type="user_message", content="hello")
    assert client.reply()[-1]["model_id"] == "first"


def test_a_bad_model_select_gets_the_go_error_frame(make_server, connect):
    server = make_server(providers=[ProviderConfig(id="only", name="Only", type="demo")])
    client = connect("erin", target=server)
    client.send(type="model_select", model_id="gpt-4")
    frame = client.recv_until(lambda f: f["type"] == "error")[-1]
    assert frame["error"] == {"code": "INVALID_FORMAT", "message": "Invalid model ID: gpt-4", "recoverable": True}
