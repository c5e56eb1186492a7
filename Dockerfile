# One image for every role of mp3converter; the role is the command:
#   docker run mp3converter:0.1.0 run converter
# Build: docker build -t mp3converter:0.1.0 .   (compose.yaml does this for the local stack)
# No secret is baked in: settings come from the environment, the JWT key from a mounted file.

# --- web-ui: the page's TypeScript type-checked and bundled; only its output is kept --------
# Debian's Node on the same base as the other stages; npm ci installs exactly the lock file.
FROM python:3.11.11-slim-bookworm AS web-ui

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build/frontend
COPY frontend/package.json frontend/package-lock.json frontend/.npmrc ./
RUN npm ci --no-audit --no-fund
COPY frontend ./
# Writes /build/src/mp3converter/web_ui/ (index.html and content-hashed assets).
RUN node build.mjs

# --- ffmpeg: Debian's ffmpeg source, built with only what the converter uses ------------------
# Debian's ffmpeg package links about 200 codec, device and GPU libraries (460 MB, most of the
# image, and 60 ms of CPU to load per run); the converter needs far fewer (the script says which).
# Source from the base image's own Debian sources (deb-src), so its security updates follow.
FROM python:3.11.11-slim-bookworm AS ffmpeg

WORKDIR /src
RUN sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        dpkg-dev gcc make nasm pkg-config xz-utils libmp3lame-dev zlib1g-dev \
    && apt-get source ffmpeg \
    && mv ffmpeg-*/ ffmpeg \
    && rm -rf /var/lib/apt/lists/*

# The configuration lives in scripts/ffmpeg-build.sh: the host's `make bootstrap` builds the same.
COPY scripts/ffmpeg-build.sh /src/
RUN /src/ffmpeg-build.sh /src/ffmpeg /opt/ffmpeg

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
COPY --from=web-ui /build/src/mp3converter/web_ui ./src/mp3converter/web_ui
# pip and setuptools are not needed to run: they stay out of the runtime venv.
RUN pip install --no-cache-dir --no-deps . \
    && pip uninstall --yes pip setuptools

# --- runtime: ffmpeg, the venv, a non-root user ------------------------------------------
FROM python:3.11.11-slim-bookworm AS runtime

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="mp3converter" \
      org.opencontainers.image.description="Video-to-MP3 conversion platform: gateway, auth, upload, converter and notification roles in one image" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="python:3.11.11-slim-bookworm"

# ffmpeg/ffprobe for the converter (built above; LAME is their one library beyond the base).
# The user has a fixed numeric UID/GID so that Kubernetes (runAsNonRoot) can verify it and
# volumes can be prepared for it.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libmp3lame0 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 mp3converter \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /data \
        --shell /usr/sbin/nologin mp3converter \
    && install -d -o 10001 -g 10001 -m 0750 /data

COPY --from=ffmpeg /opt/ffmpeg/bin/ffmpeg /opt/ffmpeg/bin/ffprobe /usr/local/bin/
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
