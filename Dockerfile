# syntax=docker/dockerfile:1
# Chatbox: gunicorn (gevent worker) serving Flask + flask-sock. Build: docker build -t chatbox-websocket:v1.0.0 .
# No build secrets are needed: every dependency comes from PyPI, and no secret is baked into any layer (the
# service reads JWT_SECRET, ENCRYPTION_KEY, ... from the environment at run time).

# --- build stage: install the dependencies into a virtualenv ---------------------------------------------------
FROM python:3.11-slim-bookworm AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt

# --- runtime stage: the virtualenv and the application, run as an unprivileged user ---------------------------
FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SERVER_PORT=8080 \
    CHATBOX_PATH_PREFIX=/chat \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
RUN groupadd --system --gid 10001 chatbox \
    && useradd --system --uid 10001 --gid chatbox --home-dir /app --shell /usr/sbin/nologin chatbox
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
COPY --chown=root:root chatbox ./chatbox
COPY --chown=root:root templates ./templates
COPY --chown=root:root static ./static
COPY --chown=root:root wsgi.py gunicorn.conf.py ./
# The only writable places: /tmp (gunicorn heartbeat files, metrics; an emptyDir in Kubernetes) and ./data
# (uploads when S3 is not configured). The code stays owned by root and read-only for the service user.
RUN mkdir -p /app/data /tmp/prometheus && chown chatbox:chatbox /app/data /tmp/prometheus
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-m", "chatbox.ops.probe", "healthz"]
# Worker connections follow MAX_CONNECTIONS and the graceful timeout SHUTDOWN_TIMEOUT (see gunicorn.conf.py).
# Exec form: gunicorn is PID 1 and receives SIGTERM itself, which starts the drain.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
