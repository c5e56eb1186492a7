#!/usr/bin/env bash
# Local stand-ins for the Dockerfile's base images, for machines that reach no image registry.
#
# For every `FROM` image (stage names aside) that podman does not hold yet, this builds a Debian
# bookworm root with debootstrap (minbase) plus Debian's python3 and python3-venv, links
# /usr/local/bin/python as the official python images have it, adds this machine's CA bundle
# (so pip and npm inside the build trust what this machine trusts), and imports it under the
# exact name `FROM` uses. The unchanged Dockerfile then builds on it. The root is cached under
# .tools/image-base/, so a second run only re-imports it (or does nothing).
#
# The Debian mirror is this machine's own (its apt sources); nothing here names a host.
# Only python:*-bookworm bases are stood in for: another base fails with a clear message.
set -euo pipefail
cd "$(dirname "$0")/.."

export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/deploy/podman/containers.conf}"
CACHE=.tools/image-base
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
mkdir -p "$CACHE"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# The first Debian (not debian-security) URI of this machine's apt sources.
debian_mirror() {
  local uri
  uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)
  if [ -z "$uri" ]; then
    uri=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n1 || true)
  fi
  [ -n "$uri" ] || { echo "image-base: no Debian mirror in this machine's apt sources" >&2; exit 1; }
  echo "$uri"
}

# Base images of the Dockerfile's FROM lines, without the stages it builds itself.
base_images() {
  awk 'toupper($1) == "FROM" {
         image = ""; for (i = 2; i <= NF; i++) if ($i !~ /^--/) { image = $i; break }
         if (toupper($(NF-1)) == "AS") stage[tolower($NF)] = 1
         if (image != "" && !(tolower(image) in stage)) print image
       }' Dockerfile | sort -u
}

make_rootfs() {
  local root=$1 mirror
  mirror=$(debian_mirror)
  rm -rf "$root"
  echo "image-base: debootstrap bookworm into $root"
  as_root debootstrap --variant=minbase --include=python3,python3-venv bookworm "$root" "$mirror" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -n 30 "$CACHE/debootstrap.log" >&2; exit 1; }
  as_root ln -sf /usr/bin/python3 "$root/usr/local/bin/python"
  as_root ln -sf /usr/bin/python3 "$root/usr/local/bin/python3"
  # This machine's CA bundle, kept when a build's apt run re-generates the bundle.
  as_root install -d "$root/etc/ssl/certs" "$root/usr/local/share/ca-certificates"
  as_root install -m 0644 "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
  as_root install -m 0644 "$CA_BUNDLE" "$root/usr/local/share/ca-certificates/machine-bundle.crt"
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' | as_root tee "$root/etc/pip.conf" >/dev/null
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' | as_root tee "$root/etc/npmrc" >/dev/null
  # The official images list their sources in deb822 form, as this machine does: reuse its file.
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    as_root install -m 0644 /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/debian.sources"
    as_root rm -f "$root/etc/apt/sources.list"
  fi
  # As the official Debian images: apt keeps no package cache (pkgcache.bin and srcpkgcache.bin
  # alone are 80 MB after an `apt-get update`) and fetches no translations.
  printf 'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n' | as_root tee "$root/etc/apt/apt.conf.d/docker-clean" >/dev/null
  printf 'Acquire::Languages "none";\n' | as_root tee "$root/etc/apt/apt.conf.d/docker-no-languages" >/dev/null
  as_root chroot "$root" apt-get clean
  as_root rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin "$root/var/log/"*.log
}

stand_in() {
  local image=$1 slug tarball
  case "$image" in
    python:*bookworm*) ;;
    *) echo "image-base: no stand-in recipe for base image $image" >&2; exit 1 ;;
  esac
  slug=$(echo "$image" | tr -c 'A-Za-z0-9.\n' '_')
  tarball="$CACHE/$slug.tar"
  if [ ! -f "$tarball" ]; then
    make_rootfs "$CACHE/$slug.root"
    as_root tar -C "$CACHE/$slug.root" --numeric-owner -cf "$tarball.part" .
    mv "$tarball.part" "$tarball"
    as_root rm -rf "$CACHE/$slug.root"
  fi
  echo "image-base: importing $tarball as $image"
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    "$tarball" "$image" >/dev/null
}

for image in $(base_images); do
  podman image exists "$image" || stand_in "$image"
done
