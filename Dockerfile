# Customer Service: the app only. The Dapr sidecar is injected next to it by
# the Dapr sidecar injector (see k8s/). Build: docker build -t customer-service .
# (or `make image`: podman on a Python 3.11 base built from Debian's packages).

# Any image with Python 3.11 on PATH as `python` (with venv) and groupadd/useradd.
ARG BASE_IMAGE=docker.io/library/python:3.11-slim-bookworm

# --- build: resolve and install the runtime dependencies into a venv ---------
FROM ${BASE_IMAGE} AS build
# Behind a TLS-inspecting proxy: mount its CA bundle for this stage only and
# name it here (scripts/build-image.sh does); empty means pip's own CAs.
ARG PIP_CERT=""
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY actors ./actors
COPY service ./service
COPY security ./security
COPY readmodel ./readmodel
COPY observability ./observability
COPY worker ./worker
COPY accounts ./accounts
# Runtime dependencies only (no [dev]); bytecode compiled now because the
# root filesystem is read-only at run time.
RUN pip install --no-compile . \
    && python -m compileall -q /opt/venv/lib

# --- runtime: the venv, a non-root user, nothing else ------------------------
FROM ${BASE_IMAGE} AS runtime
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
# The read model's SQL, for the migration Job (python -m readmodel.migrate).
COPY migrations /app/migrations
ENV PATH=/opt/venv/bin:$PATH \
    CUSTOMER_MIGRATIONS_DIR=/app/migrations \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CUSTOMER_HTTP_HOST=0.0.0.0 \
    CUSTOMER_HTTP_PORT=8003 \
    CUSTOMER_HTTP_WORKERS=2
USER 10001:10001
EXPOSE 8003
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-m", "service.healthcheck"]
# uvicorn's supervisor is PID 1 (exec form, no shell): SIGTERM stops every
# worker process; each stops taking connections, gives in-flight requests up
# to 30 s, then its lifespan closes the pools.
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "service"]
