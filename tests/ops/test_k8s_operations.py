"""The Kubernetes operator path run for real against a fake kubectl: image tags, the HPA owning replicas, spread,
extra egress, Traefik timeouts, backup/restore, and the secrets script."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from chatbox.settings import WEAK_SECRET_PATTERNS, Settings, parse_size
from ops.test_manifests import K8S, K8S_VERSION, ROOT, container, one

FAKE_KUBECTL = r"""#!/bin/sh
# Records each call; "get X -o yaml" prints $FAKE_LIVE/<kind>.yaml; "apply -f -" records what it was given.
echo "kubectl $*" >> "$FAKE_LOG"
case "$*" in
  "config current-context") echo test-cluster ;;
  *" get "*" -o yaml") object=$(echo "$*" | sed -E 's/.* get ([a-z]+)\/.*/\1/'); cat "$FAKE_LIVE/$object.yaml" ;;
  *"apply -f -"*) cat >> "$FAKE_LOG"; echo "---" >> "$FAKE_LOG" ;;
esac
"""

LIVE_SERVICE = """apiVersion: v1
kind: Service
metadata:
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"v1","kind":"Service","metadata":{"name":"chatbox-websocket"}}
  creationTimestamp: "2026-11-30T10:00:00Z"
  labels:
    app: chatbox
  name: chatbox-websocket
  namespace: chatbox
  resourceVersion: "48213"
  uid: 7f9c2ad4-1f1e-4a39-9b1e-3b2f0c7d5e11
spec:
  clusterIP: 10.43.12.7
  clusterIPs:
  - 10.43.12.7
  internalTrafficPolicy: Cluster
  ports:
  - name: http
    port: 80
    protocol: TCP
    targetPort: 8080
  selector:
    app: chatbox
  type: ClusterIP
status:
  loadBalancer: {}
"""


@pytest.fixture
def kubectl(tmp_path):
    """A fake kubectl on a path; ``.log()`` is everything it was asked and given."""
    live = tmp_path / "live"
    live.mkdir()
    for kind in ("configmap", "secret", "deployment", "ingress", "hpa", "pdb", "networkpolicy"):
        (live / f"{kind}.yaml").write_text(f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: x\n  uid: abc\n")
    (live / "service.yaml").write_text(LIVE_SERVICE)
    path = tmp_path / "kubectl"
    path.write_text(FAKE_KUBECTL)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return FakeKubectl(path, tmp_path / "kubectl.log", live)


class FakeKubectl:
    def __init__(self, path: Path, log_path: Path, live: Path):
        self.path, self.log_path, self.live = path, log_path, live

    def __str__(self) -> str:
        return str(self.path)

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


def make(kubectl, *args: str, cwd: Path = K8S) -> subprocess.CompletedProcess:
    env = {**os.environ, "FAKE_LOG": str(kubectl.log_path), "FAKE_LIVE": str(kubectl.live)}
    return subprocess.run(
        ["make", "-s", "-C", str(cwd), f"KUBECTL={kubectl}", *args],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip


def applied(log: str) -> list[dict]:
    """The documents given to ``apply -f -``."""
    return [doc for doc in yaml.safe_load_all(log.replace("kubectl ", "# kubectl ")) if doc]


# --- image tag and replicas ---------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["deploy", "k3s-deploy", "deploy-app", "build-push"])
@pytest.mark.parametrize("tag", [None, "latest"])
def test_deploying_or_pushing_needs_an_immutable_tag(kubectl, target, tag):
    result = make(kubectl, target, "REGISTRY=registry.example.com", *([f"IMAGE_TAG={tag}"] if tag else []))
    assert result.returncode != 0
    assert 'IMAGE_TAG is required and must not be "latest"' in result.stderr
    assert "apply" not in kubectl.log()


def test_deploy_app_applies_the_tagged_image_and_leaves_replicas_to_the_hpa(kubectl):
    result = make(kubectl, "deploy-app", "IMAGE_TAG=v1.4.2", "REGISTRY=registry.example.com")
    assert result.returncode == 0, result.stderr
    [deployment] = [doc for doc in applied(kubectl.log()) if doc["kind"] == "Deployment"]
    kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)
    [app] = deployment["spec"]["template"]["spec"]["containers"]
    assert app["image"] == "registry.example.com/chatbox-websocket:v1.4.2"
    assert "replicas" not in deployment["spec"]
    assert "kubectl -n chatbox apply -f hpa.yaml -f pdb.yaml -f networkpolicy.yaml" in kubectl.log()
    assert "kubectl -n chatbox delete networkpolicy chatbox-egress-extra --ignore-not-found" in kubectl.log()


def test_without_a_registry_the_image_is_the_local_name(kubectl):
    assert make(kubectl, "deploy-app", "IMAGE_TAG=dev-3").returncode == 0
    [deployment] = [doc for doc in applied(kubectl.log()) if doc["kind"] == "Deployment"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "chatbox-websocket:dev-3"


def test_the_manifest_names_no_latest_image_and_no_replica_count():
    deployment = one("deployment.yaml", "Deployment")
    assert "replicas" not in deployment["spec"]
    assert not container()["image"].endswith(":latest") and ":" in container()["image"]


def test_pods_spread_over_nodes_and_zones_without_blocking_a_one_node_cluster():
    spec = one("deployment.yaml", "Deployment")["spec"]
    labels = spec["template"]["metadata"]["labels"]
    spread = {c["topologyKey"]: c for c in spec["template"]["spec"]["topologySpreadConstraints"]}
    assert set(spread) == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    for constraint in spread.values():
        assert constraint["maxSkew"] == 1 and constraint["whenUnsatisfiable"] == "ScheduleAnyway"
        assert constraint["labelSelector"]["matchLabels"].items() <= labels.items()


def test_the_upload_spool_is_a_volume_sized_for_the_spool_setting():
    config = one("configmap.yaml", "ConfigMap")["data"]
    pod = one("deployment.yaml", "Deployment")["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m["name"] for m in container()["volumeMounts"]}
    volume = {v["name"]: v for v in pod["volumes"]}[mounts[config["UPLOAD_SPOOL_DIR"]]]
    size_limit = parse_size(volume["emptyDir"]["sizeLimit"].replace("Mi", "MiB").replace("Gi", "GiB"))
    spool, largest = parse_size(config["UPLOAD_SPOOL_SIZE"]), parse_size(config["UPLOAD_MAX_SIZE"])
    assert largest * 10 <= spool < size_limit  # ten concurrent uploads, and the refusal comes before eviction


# --- extra egress -------------------------------------------------------------------------------------------


def egress_policy(**env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(K8S / "egress-policy.sh")], capture_output=True, text=True, env={**os.environ, **env}, check=False
    )


def test_extra_egress_reaches_external_and_other_namespace_databases(kubectl):
    result = make(kubectl, "deploy-app", "IMAGE_TAG=v1", "EGRESS_CIDRS=10.20.0.0/16 172.31.5.10/32",
                  "EGRESS_NAMESPACES=databases llm", "EGRESS_PORTS=27017 6380 8000")  # fmt: skip
    assert result.returncode == 0, result.stderr
    [policy] = [doc for doc in applied(kubectl.log()) if doc["kind"] == "NetworkPolicy"]
    kubernetes_validate.validate(policy, K8S_VERSION, strict=True)
    [rule] = policy["spec"]["egress"]
    assert [peer["ipBlock"]["cidr"] for peer in rule["to"] if "ipBlock" in peer] == ["10.20.0.0/16", "172.31.5.10/32"]
    [namespaces] = [
        peer["namespaceSelector"]["matchExpressions"][0] for peer in rule["to"] if "namespaceSelector" in peer
    ]
    assert namespaces["values"] == ["databases", "llm"]
    assert [port["port"] for port in rule["ports"]] == [27017, 6380, 8000]
    assert policy["spec"]["podSelector"] == one("networkpolicy.yaml", "NetworkPolicy")["spec"]["podSelector"]


def test_default_extra_egress_ports_cover_mongodb_redis_and_llm_servers():
    result = egress_policy(EGRESS_CIDRS="10.0.0.0/8")
    ports = {p["port"] for p in yaml.safe_load(result.stdout)["spec"]["egress"][0]["ports"]}
    assert {27017, 6379, 443, 11434} <= ports


@pytest.mark.parametrize(
    "env,message",
    [
        ({}, "set EGRESS_CIDRS and/or EGRESS_NAMESPACES"),
        ({"EGRESS_CIDRS": "10.0.0.1"}, "'10.0.0.1' is not a CIDR"),
        ({"EGRESS_CIDRS": "10.0.0.0/8", "EGRESS_PORTS": "27017 redis"}, "'redis' is not a port number"),
    ],
)
def test_egress_policy_refuses_bad_input(env, message):
    result = egress_policy(**{"EGRESS_CIDRS": "", "EGRESS_NAMESPACES": "", **env})
    assert result.returncode == 2 and message in result.stderr and result.stdout == ""


# --- K3s Traefik timeouts -----------------------------------------------------------------------------------


def test_k3s_deploy_raises_traefiks_read_timeout(kubectl):
    [config] = yaml.safe_load_all((K8S / "traefik-config.yaml").read_text())
    assert (config["kind"], config["metadata"]["namespace"], config["metadata"]["name"]) == (
        "HelmChartConfig", "kube-system", "traefik",
    )  # fmt: skip
    arguments = yaml.safe_load(config["spec"]["valuesContent"])["additionalArguments"]
    for entry_point in ("web", "websecure"):
        for timeout in ("readTimeout", "idleTimeout"):
            setting = f"--entryPoints.{entry_point}.transport.respondingTimeouts.{timeout}="
            [value] = [arg.removeprefix(setting) for arg in arguments if arg.startswith(setting)]
            assert int(value.removesuffix("s")) >= 3600
    result = make(kubectl, "k3s-deploy", "IMAGE_TAG=v1")
    assert result.returncode == 0, result.stderr
    assert "kubectl apply -f traefik-config.yaml" in kubectl.log()


# --- backup and restore -------------------------------------------------------------------------------------


def test_backup_is_git_ignored_and_restorable(kubectl, tmp_path):
    folder = K8S / "backup" / "test-run"
    try:
        result = make(kubectl, "backup", "BACKUP_DIR=backup/test-run")
        assert result.returncode == 0, result.stderr
        assert (folder / "secret.yaml").stat().st_mode & 0o077 == 0  # private to the operator
        ignored = subprocess.run(["git", "check-ignore", "-q", str(folder / "secret.yaml")], cwd=ROOT, check=False)
        assert ignored.returncode == 0, "the backup (with the Secret) could be committed"
        service = yaml.safe_load((folder / "service.yaml").read_text())
        assert "status" not in service and "clusterIP" not in service["spec"] and "clusterIPs" not in service["spec"]
        assert not {"resourceVersion", "uid", "creationTimestamp"} & set(service["metadata"])
        assert service["metadata"]["annotations"] is None and service["spec"]["ports"][0]["targetPort"] == 8080

        result = make(kubectl, "restore", "BACKUP=backup/test-run")
        assert result.returncode == 0, result.stderr
        applies = re.findall(r"kubectl -n chatbox apply -f (.+)", kubectl.log())
        assert applies == [
            "backup/test-run/configmap.yaml -f backup/test-run/secret.yaml",
            "backup/test-run/deployment.yaml",
            *[f"backup/test-run/{name}.yaml" for name in ("service", "ingress", "hpa", "pdb", "networkpolicy")],
        ]
        assert "rollout status deployment/chatbox-websocket" in kubectl.log()
    finally:
        subprocess.run(["rm", "-rf", str(K8S / "backup")], check=False)


@pytest.mark.parametrize("args,message", [((), "BACKUP is required"), (("BACKUP=nowhere",), "nowhere is not a backup")])
def test_restore_refuses_without_a_backup_folder(kubectl, args, message):
    result = make(kubectl, "restore", *args)
    assert result.returncode != 0 and message in result.stdout + result.stderr
    assert " apply " not in kubectl.log()


# --- create-secrets.sh --------------------------------------------------------------------------------------


def run_create_secrets(kubectl, tmp_path, openssl_outputs: list[str] | None = None) -> str:
    """Run the script in batch mode; returns the JWT_SECRET it applied. ``openssl_outputs`` fakes `openssl rand`."""
    env = {key: value for key, value in os.environ.items() if key not in ("JWT_SECRET", "ENCRYPTION_KEY")}
    env.update(BATCH="1", KUBECTL=str(kubectl), FAKE_LOG=str(kubectl.log_path), FAKE_LIVE=str(kubectl.live))
    if openssl_outputs is not None:
        queue = tmp_path / "openssl-queue"
        queue.write_text("\n".join(openssl_outputs) + "\n")
        fake = tmp_path / "bin" / "openssl"
        fake.parent.mkdir(exist_ok=True)
        # Each call prints (and removes) the first queued line; -hex 16 always gets a fixed 32-character key.
        fake.write_text(
            '#!/bin/sh\nif [ "$3" = 16 ]; then echo 0123456789abcdef0123456789abcdef; exit; fi\n'
            f'head -n1 "{queue}"; sed -i 1d "{queue}"\n'
        )
        fake.chmod(0o755)
        env["PATH"] = f"{fake.parent}:{env['PATH']}"
    result = subprocess.run(
        [str(K8S / "create-secrets.sh")], capture_output=True, text=True, env=env, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    return re.search(r"--from-literal=JWT_SECRET=(\S+)", kubectl.log()).group(1)


def test_create_secrets_never_hands_out_a_jwt_secret_production_refuses(kubectl, tmp_path):
    weak = "0123456789abcdef12345" + "a" * 43  # random-looking, but contains "12345"
    also_weak = "deadbeef" * 4 + "demo" + "c0ffee42" * 3 + "0a1b2c3d4e5f"
    strong = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0"
    assert run_create_secrets(kubectl, tmp_path, [weak, also_weak, strong]) == strong
    Settings.load(
        {"CHATBOX_ENV": "production", "JWT_SECRET": strong, "MONGO_URI": "mongodb://db:27017/chat", "S3_BUCKET": "b"}
    )


def test_create_secrets_with_real_openssl_makes_a_production_grade_secret(kubectl, tmp_path):
    secret = run_create_secrets(kubectl, tmp_path)
    assert re.fullmatch(r"[0-9a-f]{64}", secret)
    Settings.load(
        {"CHATBOX_ENV": "production", "JWT_SECRET": secret, "MONGO_URI": "mongodb://db:27017/chat", "S3_BUCKET": "b"}
    )


def test_the_scripts_weak_patterns_are_the_services():
    line = re.search(r'^WEAK_PATTERNS="([^"]+)"', (K8S / "create-secrets.sh").read_text(), re.MULTILINE)
    assert line.group(1).split() == list(WEAK_SECRET_PATTERNS)
