#!/usr/bin/env bash
# Install the system packages grader needs, only when they are missing.
# bubblewrap isolates candidate code; e2fsprogs and mount give each test run a
# disk-limited ext4 image; python3-venv provides `python3 -m venv` on Debian;
# postgresql and redis-server are the servers a submission's tests may need (grader
# starts its own, inside each test run's sandbox, from these packages' binaries), with
# PostGIS for the server and GDAL (which PostGIS brings) for GeoDjango submissions;
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
    # Debian keeps the server programs off PATH, under /usr/lib/postgresql/VERSION/bin.
    compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
    command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] \
        || missing+=(redis-server)
    # PostGIS is built for one PostgreSQL major version: the installed one, or the one
    # the distribution's postgresql package is about to install.
    if ! compgen -G "/usr/share/postgresql/*/extension/postgis.control" >/dev/null; then
        major=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
        if [ -z "$major" ] && command -v apt-cache >/dev/null 2>&1; then
            major=$(apt-cache depends postgresql 2>/dev/null \
                | sed -n 's/^ *Depends: postgresql-\([0-9][0-9]*\)$/\1/p' | head -1)
        fi
        [ -z "$major" ] || missing+=("postgresql-$major-postgis-3")
    fi
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

# PostgreSQL installed just now (its major version unknown before the package lists were
# read): its PostGIS build follows.
if [ "${1:-}" != "--browser" ] \
    && ! compgen -G "/usr/share/postgresql/*/extension/postgis.control" >/dev/null; then
    major=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
    if [ -n "$major" ]; then
        echo "system-deps: installing postgresql-$major-postgis-3" >&2
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
            "postgresql-$major-postgis-3" >/dev/null
    fi
fi

# Where systemd runs, the server packages start a system-wide server of their own on
# install. grader never uses it (its servers live in each run's network namespace, so
# the ports do not clash); stop and disable the ones installed here, so they hold no
# memory on a grading host.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    for installed in "${missing[@]}"; do
        case "$installed" in
            postgresql | redis-server) $sudo systemctl disable --now "$installed" >/dev/null 2>&1 || true ;;
        esac
    done
fi
