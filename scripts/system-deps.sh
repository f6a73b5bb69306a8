#!/usr/bin/env bash
# Install the system packages grader needs, only when they are missing.
# bubblewrap isolates candidate code; e2fsprogs and mount give each test run a
# disk-limited ext4 image; python3-venv provides `python3 -m venv` on Debian;
# with --browser: Chromium for the browser tests.
set -euo pipefail

missing=()
if [ "${1:-}" = "--browser" ]; then
    # Chromium for the browser tests and screenshots; the report itself needs no browser.
    [ -x /usr/bin/chromium ] || missing+=(chromium chromium-driver)
else
    command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
    command -v prlimit >/dev/null 2>&1 || missing+=(util-linux)
    command -v git >/dev/null 2>&1 || missing+=(git)
    # sbin is often off a normal user's PATH
    [ -x /usr/sbin/mkfs.ext4 ] || [ -x /sbin/mkfs.ext4 ] || missing+=(e2fsprogs)
    command -v mount >/dev/null 2>&1 || missing+=(mount)
    if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        version=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
        missing+=("python${version}-venv")
    fi
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: please install: ${missing[*]} (no apt-get here)" >&2
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo="sudo -n"
    else
        echo "system-deps: please install: ${missing[*]} (needs root)" >&2
        exit 0
    fi
fi
echo "system-deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
