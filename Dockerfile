# syntax=docker/dockerfile:1
# The Assured server. Build: docker build -t assured-server .   Run: see compose.yaml and
# docs/deploy.md ("Containers"). Two stages: uv installs the locked dependencies into a virtual
# environment, which the runtime stage copies without uv, compilers or sources.

FROM python:3.11-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.10 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# The dependencies alone first: this layer changes only with uv.lock.
COPY pyproject.toml uv.lock ./
COPY packages/assured/pyproject.toml packages/assured/
COPY packages/assured-server/pyproject.toml packages/assured-server/
RUN uv sync --frozen --no-dev --package assured-server --extra s3 --no-install-workspace
# Then the server itself, installed as a package (not linked to /src).
COPY packages/assured-server packages/assured-server
RUN uv sync --frozen --no-dev --package assured-server --extra s3 --no-editable

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin assured \
    && mkdir -p /data && chown assured:assured /data && chmod 0700 /data
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ASSURED_DATA_DIR=/data \
    ASSURED_HOST=0.0.0.0 \
    ASSURED_PORT=8000
USER assured
WORKDIR /data
# SQLite, stored files and generated secrets when no database or S3 store is configured; the
# generated JWT secret even then (keep the volume, or set ASSURED_JWT_SECRET).
VOLUME ["/data"]
EXPOSE 8000
# The image has no curl: Python asks /healthz (alive). Route traffic on /readyz instead.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('ASSURED_PORT', '8000') + '/healthz', timeout=4)"]
ENTRYPOINT ["assured-server"]
CMD ["serve"]
