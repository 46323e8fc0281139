#!/usr/bin/env sh
# Print the NetworkPolicy chatbox-egress-extra: egress from the chatbox pods to databases and LLM endpoints that
# networkpolicy.yaml does not already allow (that one allows only same-namespace pods labelled app=mongodb /
# app=redis, and public HTTPS/SMTP). NetworkPolicies add up, so this one only widens the base.
#
#   EGRESS_CIDRS       addresses outside the cluster, e.g. "10.20.0.0/16 172.31.5.10/32" (managed MongoDB/Redis,
#                      a self-hosted model server on a private network)
#   EGRESS_NAMESPACES  other namespaces of this cluster, e.g. "databases llm" (every pod in them)
#   EGRESS_PORTS       TCP ports allowed to those (default: 27017 MongoDB, 6379/6380 Redis, 443/80 HTTP(S),
#                      8000 vLLM, 11434 Ollama)
#
# `make deploy` / `make k3s-deploy` apply it when EGRESS_CIDRS or EGRESS_NAMESPACES is set; see README.md.
set -eu
EGRESS_CIDRS="${EGRESS_CIDRS:-}"
EGRESS_NAMESPACES="${EGRESS_NAMESPACES:-}"
EGRESS_PORTS="${EGRESS_PORTS:-27017 6379 6380 443 80 8000 11434}"

if [ -z "$EGRESS_CIDRS$EGRESS_NAMESPACES" ]; then
  echo "egress-policy.sh: set EGRESS_CIDRS and/or EGRESS_NAMESPACES" >&2
  exit 2
fi
for cidr in $EGRESS_CIDRS; do
  case "$cidr" in
    */*) ;;
    *) echo "egress-policy.sh: '$cidr' is not a CIDR (use e.g. 10.20.0.0/16 or 172.31.5.10/32)" >&2; exit 2 ;;
  esac
done
for port in $EGRESS_PORTS; do
  case "$port" in
    ''|*[!0-9]*) echo "egress-policy.sh: '$port' is not a port number" >&2; exit 2 ;;
  esac
done

cat <<YAML
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: chatbox-egress-extra
  labels:
    app: chatbox
    component: websocket
spec:
  podSelector:
    matchLabels:
      app: chatbox
      component: websocket
  policyTypes:
    - Egress
  egress:
    - to:
YAML
for cidr in $EGRESS_CIDRS; do
  printf '        - ipBlock:\n            cidr: %s\n' "$cidr"
done
if [ -n "$EGRESS_NAMESPACES" ]; then
  printf '        - namespaceSelector:\n            matchExpressions:\n'
  printf '              - key: kubernetes.io/metadata.name\n                operator: In\n                values:\n'
  for ns in $EGRESS_NAMESPACES; do printf '                  - %s\n' "$ns"; done
fi
printf '      ports:\n'
for port in $EGRESS_PORTS; do
  printf '        - protocol: TCP\n          port: %s\n' "$port"
done
