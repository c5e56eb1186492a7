#!/usr/bin/env bash
# Installs everything `make run` and `make test` need on a fresh Debian machine, idempotently:
# ffmpeg and RabbitMQ (Debian packages), the converter's own ffmpeg build (as in the image), the
# project's virtualenv from requirements.lock, SecantusDB in a tool environment of its own
# (GPL-2.0: run as a process, never imported), and the web UI built from frontend/ with Debian's
# Node (plus Chromium for the browser tests).
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
VENV=.venv
TOOLS=.tools/secantusdb
STAMP=.tools/stamps
mkdir -p "$STAMP"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || apt_install ffmpeg
command -v rabbitmq-server >/dev/null || [ -n "${AMQP_URL:-}" ] || apt_install rabbitmq-server
# promtool tests the alert rules; prometheus serves them under `MONITORING=1 make run`.
command -v promtool >/dev/null && command -v prometheus >/dev/null || apt_install prometheus

# The converter's ffmpeg: Debian's ffmpeg source (from this machine's own Debian sources, as
# deb-src, through a private apt state that leaves the system's untouched), built by
# scripts/ffmpeg-build.sh into .tools/ffmpeg exactly as the image builds it; rebuilt when that
# script changes. Debian's ffmpeg above stays for making test and benchmark media.
FFMPEG_TOOL=.tools/ffmpeg
ffmpeg_key="$(sha256sum scripts/ffmpeg-build.sh | cut -c1-16)"
if [ ! -x "$FFMPEG_TOOL/bin/ffprobe" ] || [ "$(cat "$STAMP/ffmpeg" 2>/dev/null)" != "$ffmpeg_key" ]; then
  echo "bootstrap: building the converter's ffmpeg (about 2 minutes on 2 cores)"
  build_deps=(dpkg-dev gcc make nasm pkg-config xz-utils libmp3lame-dev zlib1g-dev)
  missing=()
  for package in "${build_deps[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
  work="$PWD/.tools/ffmpeg-build"
  rm -rf "$work" && mkdir -p "$work/apt/lists/partial" "$work/apt/parts"
  : >"$work/apt/none.list"
  [ -f /etc/apt/sources.list.d/debian.sources ] \
    && sed 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$work/apt/parts/debian.sources"
  [ -f /etc/apt/sources.list ] && sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >"$work/apt/parts/debian.list"
  private_apt=(-o "Dir::Etc::SourceList=$work/apt/none.list" -o "Dir::Etc::SourceParts=$work/apt/parts"
    -o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=")
  apt-get -qq "${private_apt[@]}" update
  # Their warnings (no keyring to check the .dsc signature; apt's signed index already did) are
  # shown only if a step fails.
  quietly() { "$@" >"$work/step.log" 2>&1 || { cat "$work/step.log" >&2; return 1; }; }
  (cd "$work" && quietly apt-get -qq "${private_apt[@]}" source --download-only ffmpeg \
    && quietly dpkg-source -x ffmpeg_*.dsc src)
  rm -rf "$FFMPEG_TOOL"
  scripts/ffmpeg-build.sh "$work/src" "$PWD/$FFMPEG_TOOL"
  rm -rf "$work"
  echo "$ffmpeg_key" >"$STAMP/ffmpeg"
fi

# RabbitMQ: use the running broker; start the local one if nothing answers (unless AMQP_URL points elsewhere).
if [ -z "${AMQP_URL:-}" ] && ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  echo "bootstrap: starting RabbitMQ"
  as_root rabbitmq-server -detached
  for _ in $(seq 1 60); do
    (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && break
    sleep 1
  done
  (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null || { echo "bootstrap: RabbitMQ did not start" >&2; exit 1; }
fi
# Queue depth and consumers for Prometheus (port 15692): RabbitMQ's own plugin, local broker only.
if [ -z "${AMQP_URL:-}" ] && ! (exec 3<>/dev/tcp/127.0.0.1/15692) 2>/dev/null; then
  as_root rabbitmq-plugins enable -q rabbitmq_prometheus || echo "bootstrap: rabbitmq_prometheus not enabled" >&2
fi

# The project's environment, re-synced only when a lock file changed.
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
if [ ! -x "$VENV/bin/uv" ] || ! "$VENV/bin/uv" --version | grep -q " $UV_VERSION"; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
fi
UV="$VENV/bin/uv"
if [ ! -f "$STAMP/venv" ] || [ requirements.lock -nt "$STAMP/venv" ] || [ pyproject.toml -nt "$STAMP/venv" ]; then
  "$UV" pip install -q --python "$VENV/bin/python" --require-hashes -r requirements.lock
  "$UV" pip install -q --python "$VENV/bin/python" --no-deps -e .
  touch "$STAMP/venv"
fi

if [ ! -x "$TOOLS/bin/python" ]; then python3 -m venv "$TOOLS"; fi
if [ ! -f "$STAMP/secantusdb" ] || [ tools/secantusdb.lock -nt "$STAMP/secantusdb" ]; then
  "$UV" pip install -q --python "$TOOLS/bin/python" --require-hashes -r tools/secantusdb.lock
  touch "$STAMP/secantusdb"
fi

# The browser tests drive Debian's Chromium (no browser download of Playwright's own).
[ -x /usr/bin/chromium ] || apt_install chromium

# The web UI (frontend/ -> src/mp3converter/web_ui/): Debian's Node if there is none, then
# `npm ci` and the build only when a source, the lock or the build script changed since the
# last build, or its output is missing.
command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
if [ ! -f "$STAMP/web-ui" ] || [ ! -f src/mp3converter/web_ui/index.html ] \
  || [ -n "$(find frontend -path frontend/node_modules -prune -o -type f -newer "$STAMP/web-ui" -print -quit)" ]; then
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error && node build.mjs)
  touch "$STAMP/web-ui"
fi
