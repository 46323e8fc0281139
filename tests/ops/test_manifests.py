"""deployments/kubernetes: schema-valid, wired to the settings the code reads, and true to the deployment guide."""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from chatbox.settings import SECRET_ENV_ALIASES, SPECS, parse_duration

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deployments" / "kubernetes"
K8S_VERSION = "1.32.0"  # the guide asks for 1.24+; 1.32 schemas ship with kubernetes-validate
MANIFESTS = [
    "configmap.yaml",
    "secret.yaml.template",
    "deployment.yaml",
    "service.yaml",
    "ingress-traefik.yaml",
    "hpa.yaml",
    "pdb.yaml",
    "networkpolicy.yaml",
]
RUNTIME_VARS = {"WEB_CONCURRENCY", "PROMETHEUS_MULTIPROC_DIR", "CHATBOX_UNSHARED_WORKERS"}
PROVIDER_VAR = re.compile(
    r"LLM_PROVIDER_\d+_(ID|NAME|TYPE|ENDPOINT|API_KEY|MODEL|MAX_TOKENS|TEMPERATURE|"
    r"SYSTEM_PROMPT|FALLBACK)"
)


def documents(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]


def one(name: str, kind: str) -> dict:
    [doc] = [doc for doc in documents(name) if doc["kind"] == kind]
    return doc


def container() -> dict:
    return one("deployment.yaml", "Deployment")["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("name", MANIFESTS)
def test_manifest_is_valid_against_the_kubernetes_schema(name):
    docs = documents(name)
    assert docs, f"{name} is empty"
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_the_validator_rejects_a_broken_manifest():
    broken = copy.deepcopy(one("deployment.yaml", "Deployment"))
    broken["spec"]["template"]["spec"]["containers"][0]["resources"]["limit"] = {"cpu": "1"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def known_variable(name: str) -> bool:
    return (
        name in {spec.env for spec in SPECS}
        or name in SECRET_ENV_ALIASES
        or name in RUNTIME_VARS
        or bool(PROVIDER_VAR.fullmatch(name))
    )


@pytest.mark.parametrize(
    "name,kind,field", [("configmap.yaml", "ConfigMap", "data"), ("secret.yaml.template", "Secret", "stringData")]
)
def test_every_variable_is_one_the_service_reads(name, kind, field):
    keys = one(name, kind)[field]
    unknown = [key for key in keys if not known_variable(key)]
    assert not unknown, f"{name} sets variables nothing reads: {unknown}"


def test_secrets_live_in_the_secret_and_nowhere_else():
    secret_envs = {spec.env for spec in SPECS if spec.secret} | set(SECRET_ENV_ALIASES)
    config = one("configmap.yaml", "ConfigMap")["data"]
    assert not secret_envs & set(config), "a secret setting is in the ConfigMap"
    template = one("secret.yaml.template", "Secret")["stringData"]
    assert {"JWT_SECRET", "ENCRYPTION_KEY"} <= set(template)
    assert all(value == "" or "PLACEHOLDER" in value for value in template.values())


def test_deployment_reads_configmap_then_secret():
    sources = container()["envFrom"]
    assert sources == [{"configMapRef": {"name": "chat-config"}}, {"secretRef": {"name": "chat-secrets"}}]


def test_probes_hit_the_guide_paths():
    spec = container()
    prefix = one("configmap.yaml", "ConfigMap")["data"]["CHATBOX_PATH_PREFIX"]
    assert prefix == "/chat"
    assert spec["livenessProbe"]["httpGet"]["path"] == "/chat/healthz"
    assert spec["startupProbe"]["httpGet"]["path"] == "/chat/healthz"
    assert spec["readinessProbe"]["httpGet"]["path"] == "/chat/readyz"
    assert {spec[p]["httpGet"]["port"] for p in ("livenessProbe", "readinessProbe", "startupProbe")} == {"http"}
    assert spec["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    annotations = one("deployment.yaml", "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] == "/chat/metrics/prometheus"


def test_resources_match_the_guide():
    assert container()["resources"] == {
        "requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"cpu": "1000m", "memory": "1Gi"},
    }


def test_restricted_security_context_with_writable_tmp():
    pod = one("deployment.yaml", "Deployment")["spec"]["template"]["spec"]
    ctx = container()["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] and ctx["runAsNonRoot"]
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert ctx["readOnlyRootFilesystem"] is True and ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert pod["automountServiceAccountToken"] is False
    mounts = {m["mountPath"]: m["name"] for m in container()["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    multiproc = one("configmap.yaml", "ConfigMap")["data"]["PROMETHEUS_MULTIPROC_DIR"]
    for path in ("/tmp", multiproc):
        assert path in mounts and "emptyDir" in volumes[mounts[path]], f"{path} is not a writable emptyDir"


def test_grace_period_covers_prestop_and_the_drain():
    pod = one("deployment.yaml", "Deployment")["spec"]["template"]["spec"]
    pre_stop = container()["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    shutdown = parse_duration(one("configmap.yaml", "ConfigMap")["data"]["SHUTDOWN_TIMEOUT"])
    gunicorn_graceful = shutdown + 5  # gunicorn.conf.py
    assert pod["terminationGracePeriodSeconds"] > float(pre_stop[1]) + gunicorn_graceful


def test_hpa_scales_3_to_10_on_cpu_and_memory():
    hpa = one("hpa.yaml", "HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 10)
    targets = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["metrics"]}
    assert targets == {"cpu": 70, "memory": 80}
    assert hpa["scaleTargetRef"]["name"] == one("deployment.yaml", "Deployment")["metadata"]["name"]


def test_service_pdb_and_policy_select_the_pods():
    labels = one("deployment.yaml", "Deployment")["spec"]["template"]["metadata"]["labels"]
    selectors = [
        one("service.yaml", "Service")["spec"]["selector"],
        one("pdb.yaml", "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        one("networkpolicy.yaml", "NetworkPolicy")["spec"]["podSelector"]["matchLabels"],
    ]
    for selector in selectors:
        assert selector.items() <= labels.items()
    assert one("pdb.yaml", "PodDisruptionBudget")["spec"]["minAvailable"] == 2


@pytest.mark.parametrize("name,controller", [("service.yaml", "nginx"), ("ingress-traefik.yaml", "traefik")])
def test_ingresses_route_the_chat_prefix_to_the_service(name, controller):
    ingress = one(name, "Ingress")
    assert ingress["spec"]["ingressClassName"] == controller
    assert ingress["metadata"]["labels"]["ingress-controller"] == controller
    [path] = ingress["spec"]["rules"][0]["http"]["paths"]
    assert path["path"] == "/chat" and path["backend"]["service"]["name"] == "chatbox-websocket"
    annotations = ingress["metadata"]["annotations"]
    if controller == "nginx":
        assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
        assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    else:
        assert annotations["traefik.ingress.kubernetes.io/router.entrypoints"] == "websecure"


TARGETS = [
    "check-context",
    "validate",
    "deploy",
    "k3s-deploy",
    "status",
    "logs",
    "events",
    "health",
    "shell",
    "scale",
    "hpa-status",
    "backup",
    "rollback",
    "delete",
    "build-push",
]


def make_dry_run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-n", "-C", str(K8S), *args], capture_output=True, text=True, timeout=30, check=False
    )


@pytest.mark.parametrize("target", TARGETS)
def test_makefile_target_exists(target):
    result = make_dry_run(
        target, "NAMESPACE=chatbox", "REPLICAS=5", "REGISTRY=registry.example.com", "IMAGE_TAG=v1.0.0"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


@pytest.mark.parametrize(
    "target,needle",
    [
        ("deploy", "kubectl -n chatbox apply -f service.yaml"),
        ("k3s-deploy", "kubectl -n chatbox apply -f ingress-traefik.yaml"),
        ("scale", "scale deployment/chatbox-websocket --replicas=5"),
        ("build-push", "docker push registry.example.com/chatbox-websocket:v1.0.0"),
        ("health", "python -m chatbox.ops.probe healthz readyz"),
        ("rollback", "rollout undo deployment/chatbox-websocket"),
    ],
)
def test_makefile_target_runs_the_right_command(target, needle):
    result = make_dry_run(
        target, "NAMESPACE=chatbox", "REPLICAS=5", "REGISTRY=registry.example.com", "IMAGE_TAG=v1.0.0"
    )
    assert needle in result.stdout


@pytest.mark.parametrize("target,message", [("scale", "REPLICAS is required"), ("build-push", "REGISTRY is required")])
def test_makefile_refuses_missing_variables(target, message):
    result = make_dry_run(target)
    assert result.returncode != 0 and message in result.stderr


def test_make_validate_passes():
    result = subprocess.run(
        ["make", "-C", str(K8S), "validate"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed") >= len(MANIFESTS)
