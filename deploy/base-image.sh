#!/bin/sh
# The base image, made from Debian's packages alone (no container registry needed):
# debootstrap a minimal Debian 12 with its Python 3.11, apply Debian's security updates, and
# `docker import` the result. Run as root (debootstrap needs it): `make base-image`.
#
#   deploy/base-image.sh [IMAGE]          IMAGE defaults to jaga-base:bookworm
#
# DEBIAN_MIRROR picks another Debian mirror; DOCKER another docker client. The certificate
# authorities this machine's administrator added (LOCAL_CA_DIR, by Debian's convention
# /usr/local/share/ca-certificates) are trusted in the image too, so that a build behind a
# TLS-inspecting proxy can reach PyPI; LOCAL_CA_DIR= (empty) leaves them out.
set -eu

image=${1:-jaga-base:bookworm}
suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
docker=${DOCKER:-docker}
local_ca_dir=${LOCAL_CA_DIR-/usr/local/share/ca-certificates}

if [ "$(id -u)" != 0 ]; then
    echo "base-image.sh: debootstrap needs root; run it with sudo" >&2
    exit 1
fi
command -v debootstrap >/dev/null || {
    echo "base-image.sh: debootstrap is missing: apt-get install debootstrap" >&2
    exit 1
}

rootfs=$(mktemp -d /var/tmp/jaga-base.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT INT TERM
chmod 755 "$rootfs" # the image's / (and apt's _apt user must reach its cache)

# minbase: essential and required packages only (apt, dpkg, coreutils, passwd for useradd);
# python3 is Debian 12's CPython 3.11; ca-certificates for TLS to Telegram; tzdata for WIB.
debootstrap --variant=minbase --include=python3,ca-certificates,tzdata \
    "$suite" "$rootfs" "$mirror"

cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb http://security.debian.org/debian-security $suite-security main
SOURCES
# Nothing may start services inside the chroot while packages are upgraded.
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 755 "$rootfs/usr/sbin/policy-rc.d"
chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    sh -c 'apt-get update -q && apt-get upgrade -y -q && apt-get clean'
if [ -n "$local_ca_dir" ] && ls "$local_ca_dir"/*.crt >/dev/null 2>&1; then
    cp "$local_ca_dir"/*.crt "$rootfs/usr/local/share/ca-certificates/"
    chroot "$rootfs" /usr/sbin/update-ca-certificates
fi
rm -f "$rootfs/usr/sbin/policy-rc.d"

# No package lists, caches, manuals, program translations or logs in the image (the copyright
# files stay).
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
    "$rootfs"/var/log/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/usr/share/locale/* "$rootfs"/tmp/*

tar --numeric-owner --xattrs -C "$rootfs" -c . | "$docker" import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    --message "Debian $suite minbase + python3 (deploy/base-image.sh)" \
    - "$image"
echo "base-image.sh: built $image"
