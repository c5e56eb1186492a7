#!/usr/bin/env bash
# What `make image` and `make test-image` need when no Docker engine answers: Debian's podman
# and runc (run with deploy/podman/containers.conf), and debootstrap for the stand-in base
# images (scripts/image-base.sh). Installs only what is missing.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for tool in podman runc debootstrap; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "image-tools: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
