#!/bin/sh
# Installs the Debian packages the build needs, only those that are missing.
# Usage: scripts/deps.sh PACKAGE...   (the Makefile passes its list)
# Cheap when everything is present: one dpkg-query, no network. When something is
# missing it runs `apt-get update` once, then `apt-get install` of just those.
# Not root, or no apt-get: prints the exact install line and exits 1.
set -u

missing=""
for p in "$@"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)
    [ "$st" = "installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

line="apt-get install -y --no-install-recommends$missing"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: missing packages:$missing" >&2
    echo "deps: apt-get not found; install them with your package manager (Debian: $line)" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages:$missing" >&2
    echo "deps: not root; run as root:  $line" >&2
    exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2 || { echo "deps: apt-get update failed" >&2; exit 1; }
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >&2 || {
    echo "deps: install failed; try by hand:  $line" >&2
    exit 1
}
