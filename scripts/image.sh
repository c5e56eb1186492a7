#!/usr/bin/env bash
# `make image`: builds mp3converter:<version> (the version in pyproject.toml) from the Dockerfile,
# with docker when an engine answers, else with podman (installed if missing, run with
# deploy/podman/containers.conf, on stand-in base images when no registry can be reached).
# Prints the image's name on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
tag="mp3converter:$version"

if [ "${IMAGE_ENGINE:-}" != podman ] && command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  docker build --build-arg "VERSION=$version" -t "$tag" .
else
  scripts/image-tools.sh
  export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/deploy/podman/containers.conf}"
  scripts/image-base.sh
  # --network host: the build's RUN steps reach the package registries as this machine does.
  podman build --format docker --network host --pull=missing --build-arg "VERSION=$version" -t "$tag" .
fi
echo "$tag"
