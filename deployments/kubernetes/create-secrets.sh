#!/usr/bin/env bash
# Create (or replace) the Secret chat-secrets without writing secrets to disk.
# Generates JWT_SECRET (openssl rand -hex 32, drawn again while it contains a pattern production refuses) and
# ENCRYPTION_KEY (openssl rand -hex 16: 32 characters, used as raw bytes for AES-256-GCM) unless they are already
# set in the environment; asks for the rest (empty = unused).
# Usage: NAMESPACE=chatbox ./create-secrets.sh      (non-interactive: export the variables and set BATCH=1)
set -euo pipefail
NAMESPACE="${NAMESPACE:-chatbox}"
KUBECTL="${KUBECTL:-kubectl}"

command -v openssl >/dev/null || { echo "openssl is required" >&2; exit 1; }

# The service refuses a JWT_SECRET containing any of these (chatbox/settings.py WEAK_SECRET_PATTERNS; a test keeps
# the two lists equal). Random text contains one now and then ("12345" about once in 17,000 hex secrets).
WEAK_PATTERNS="secret test password admin changeme default example demo 12345 placeholder"
strong_jwt_secret() {
  local candidate pattern
  while :; do
    candidate="$(openssl rand -hex 32)"
    for pattern in $WEAK_PATTERNS; do
      case "$candidate" in *"$pattern"*) continue 2 ;; esac
    done
    printf '%s' "$candidate"
    return
  done
}
JWT_SECRET="${JWT_SECRET:-$(strong_jwt_secret)}"
ENCRYPTION_KEY="${ENCRYPTION_KEY:-$(openssl rand -hex 16)}"
if [ "${#ENCRYPTION_KEY}" -ne 32 ]; then
  echo "ENCRYPTION_KEY must be exactly 32 characters (got ${#ENCRYPTION_KEY}); generate one with: openssl rand -hex 16" >&2
  exit 1
fi

ask() {  # ask NAME "prompt": read a value (hidden) unless NAME is set or BATCH=1
  local name="$1" prompt="$2" value="${!1:-}"
  if [ -z "$value" ] && [ "${BATCH:-0}" != 1 ]; then
    read -r -s -p "$prompt (empty to skip): " value; echo >&2
  fi
  printf -v "$name" '%s' "$value"
}
ask MONGO_URI "MONGO_URI with credentials (empty = use the ConfigMap's)"
ask S3_ACCESS_KEY_ID "S3 access key id"
ask S3_SECRET_ACCESS_KEY "S3 secret access key"
ask SMTP_USER "SMTP user"
ask SMTP_PASS "SMTP password"
ask SMS_ACCOUNT_SID "Twilio account SID"
ask SMS_AUTH_TOKEN "Twilio auth token"
ask LLM_PROVIDER_1_API_KEY "OpenAI API key (LLM_PROVIDER_1)"
ask LLM_PROVIDER_2_API_KEY "Anthropic API key (LLM_PROVIDER_2)"
ask LLM_PROVIDER_3_API_KEY "Dify API key (LLM_PROVIDER_3)"

args=(--from-literal=JWT_SECRET="$JWT_SECRET" --from-literal=ENCRYPTION_KEY="$ENCRYPTION_KEY")
for name in MONGO_URI S3_ACCESS_KEY_ID S3_SECRET_ACCESS_KEY SMTP_USER SMTP_PASS SMS_ACCOUNT_SID SMS_AUTH_TOKEN \
            LLM_PROVIDER_1_API_KEY LLM_PROVIDER_2_API_KEY LLM_PROVIDER_3_API_KEY ENCRYPTION_KEYS_PREVIOUS; do
  # Only non-empty values: an empty MONGO_URI here would hide the ConfigMap's.
  if [ -n "${!name:-}" ]; then args+=(--from-literal="$name=${!name}"); fi
done

"$KUBECTL" create secret generic chat-secrets -n "$NAMESPACE" "${args[@]}" --dry-run=client -o yaml \
  | "$KUBECTL" apply -n "$NAMESPACE" -f -
echo "Secret chat-secrets applied in namespace $NAMESPACE."
echo "Store ENCRYPTION_KEY somewhere safe (a password manager or your secret store): without it stored messages"
echo "cannot be read. See docs/KEY_MANAGEMENT.md."
