#!/usr/bin/env bash
# Run the fast test suite (pytest -m "not slow") as an unprivileged user, the way a
# developer's machine or GitHub's runner does: tests that pass only because root can read,
# write, mount or become anything show up here. Extra arguments go to pytest.
#
# As a normal user this just runs the fast suite. As root it creates (once) the system
# user $GRADER_TEST_USER (default grader-test) and runs the suite as that user, with its
# home, caches and TMPDIR in a temporary folder of its own, removed afterwards. When that
# user can read this checkout and run its .venv, the suite runs in place (the tree stays
# root's: nothing may be written into it); otherwise (a checkout under /root, or a .venv
# whose interpreter lives there) the checkout is copied, without .venv, into the
# temporary folder and `make setup` builds the user a .venv of its own there.
#
# Either way the sandbox must work (GRADER_REQUIRE_SANDBOX=1): as a normal user
# bubblewrap needs unprivileged user namespaces, which scripts/allow-bwrap-userns.sh
# allows where AppArmor restricts them.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd -P)
py=${PY:-.venv/bin/python}

if [ "$(id -u)" -ne 0 ]; then
    export GRADER_REQUIRE_SANDBOX=1
    exec "$py" -m pytest -m "not slow" "$@"
fi

say() { echo "test-unprivileged: $*" >&2; }
user=${GRADER_TEST_USER:-grader-test}
./scripts/allow-bwrap-userns.sh
if ! id -u "$user" >/dev/null 2>&1; then
    say "creating the system user $user"
    useradd --system --user-group --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin "$user"
fi
group=$(id -gn "$user")

work=$(mktemp -d /tmp/grader-unprivileged.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/home" "$work/tmp" "$work/pycache"
chown -R "$user:$group" "$work"

# Run "$@" as the user, in the current folder, with its own home, caches and TMPDIR. PATH
# stays root's, folders the user cannot enter included (as after `su`, or a Dockerfile's
# USER below root's ENV PATH): grader must look past them.
as_user() {
    setpriv --reuid="$user" --regid="$group" --init-groups -- \
        env -u VIRTUAL_ENV -u PYTHONHOME -u PYTHONPATH \
        HOME="$work/home" USER="$user" LOGNAME="$user" \
        XDG_CACHE_HOME="$work/home/.cache" XDG_CONFIG_HOME="$work/home/.config" \
        XDG_DATA_HOME="$work/home/.local/share" GRADER_CACHE_DIR="$work/home/.cache/grader" \
        TMPDIR="$work/tmp" PYTHONPYCACHEPREFIX="$work/pycache" "$@"
}

# In place when the user can import grader from this checkout with its .venv and read
# every file of it; otherwise a copy.
if as_user "$py" -c 'import grader, pytest, sys; sys.exit(grader.__file__ != sys.argv[1])' \
    "$src/grader/__init__.py" 2>/dev/null \
    && [ -z "$(as_user find . -path ./.venv -prune -o ! -readable -print -quit 2>&1)" ]; then
    say "running in place as $user (temporary home: $work)"
    as_user env PY="$py" ./scripts/test-unprivileged.sh "$@"
    exit
fi

started=$SECONDS
checkout=$work/checkout
as_user mkdir "$checkout"
# What a fresh clone holds, plus uncommitted changes: tracked and untracked files that
# git does not ignore (so no .venv or caches), or the tree minus those without git.
if git -c safe.directory="$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -c safe.directory="$src" ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' f; do [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"; done \
        | tar --null --no-recursion -T - -cf -
else
    tar --exclude=./.venv --exclude=.git --exclude=__pycache__ --exclude='*.egg-info' \
        --exclude=.mypy_cache --exclude=.ruff_cache --exclude='./grader-*' -cf - .
fi | (cd "$checkout" && as_user tar -xf -)
say "copied the checkout to $checkout in $((SECONDS - started))s"

# An interpreter the user can run: the one behind .venv, else python3 on the user's PATH.
base=$("$py" -c 'import sys; print(sys._base_executable)' 2>/dev/null || true)
python=""
for candidate in $base python3; do
    if (cd "$checkout" && as_user "$candidate" -c \
        'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))') 2>/dev/null; then
        python=$candidate
        break
    fi
done
if [ -z "$python" ]; then
    say "no Python 3.11+ with venv that $user can run (.venv's is ${base:-unknown})"
    exit 1
fi
started=$SECONDS
(cd "$checkout" && as_user make --no-print-directory setup PYTHON="$python")
say "set up $checkout/.venv with $python in $((SECONDS - started))s"
cd "$checkout"
as_user env PY=.venv/bin/python ./scripts/test-unprivileged.sh "$@"
