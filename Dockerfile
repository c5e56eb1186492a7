# One image for every role of mp3converter; the role is the command:
#   docker run mp3converter:0.1.0 run converter
# Build: docker build -t mp3converter:0.1.0 .   (compose.yaml does this for the local stack)
# No secret is baked in: settings come from the environment, the JWT key from a mounted file.

# --- build: the package and its hash-pinned runtime dependencies in a venv -------------------
FROM python:3.11.11-slim-bookworm AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /build

# Dependencies first: this layer is rebuilt only when the lock changes, not on every code edit.
COPY requirements-runtime.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements-runtime.lock

# The package itself: a regular (non-editable) install, its dependencies already in place.
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir --no-deps .

# --- runtime: ffmpeg, the venv, a non-root user ------------------------------------------
FROM python:3.11.11-slim-bookworm AS runtime

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="mp3converter" \
      org.opencontainers.image.description="Video-to-MP3 conversion platform: gateway, auth, upload, converter and notification roles in one image" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="python:3.11.11-slim-bookworm"

# ffmpeg/ffprobe for the converter. The user has a fixed numeric UID/GID so that Kubernetes
# (runAsNonRoot) can verify it and volumes can be prepared for it.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 mp3converter \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /data \
        --shell /usr/sbin/nologin mp3converter \
    && install -d -o 10001 -g 10001 -m 0750 /data

COPY --from=build /opt/venv /opt/venv

# HTTP_HOST: listen on the container's interfaces (the package's default is loopback only).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HTTP_HOST=0.0.0.0 \
    DATA_DIR=/data

WORKDIR /data
USER 10001:10001

# gateway, auth, upload, converter, notification: each role's default HTTP_PORT (its API), and
# its OPS_PORT, 1000 above (/healthz, /readyz and /metrics, for probes and Prometheus only).
EXPOSE 8080-8084 9080-9084

# No HEALTHCHECK here: the port depends on the role; compose and Kubernetes probe each role on
# its ops port (`mp3converter ready ROLE`, /healthz and /readyz).
ENTRYPOINT ["mp3converter"]
CMD ["run", "gateway"]
