#!/usr/bin/env bash
# Let bubblewrap create the user namespaces grader's sandbox needs on Ubuntu 23.10 and later,
# where AppArmor restricts unprivileged user namespaces
# (sysctl kernel.apparmor_restrict_unprivileged_userns=1, the default on GitHub's
# ubuntu-24.04 runners). Ubuntu's supported way is an AppArmor profile that grants the
# `userns` permission to the one program that needs it, so that is what this installs,
# for the bwrap binary only. Without apparmor_parser it falls back to lifting the
# restriction for the whole (ephemeral) machine. Needs root or password-less sudo;
# does nothing where the restriction is off. Verify with:
#   python -m grader.ci.github check-sandbox
set -euo pipefail

knob=/proc/sys/kernel/apparmor_restrict_unprivileged_userns
if [ ! -r "$knob" ] || [ "$(cat "$knob")" != "1" ]; then
    exit 0
fi
bwrap=$(command -v bwrap || true)
if [ -z "$bwrap" ]; then
    echo "allow-bwrap-userns: bwrap is not installed (run scripts/system-deps.sh)" >&2
    exit 1
fi
bwrap=$(readlink -f "$bwrap")
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if ! sudo -n true 2>/dev/null; then
        echo "allow-bwrap-userns: needs root or password-less sudo" >&2
        exit 1
    fi
    sudo="sudo -n"
fi
profile=/etc/apparmor.d/grader-bwrap
if command -v apparmor_parser >/dev/null 2>&1; then
    $sudo tee "$profile" >/dev/null <<PROFILE
# Installed by grader's scripts/allow-bwrap-userns.sh: bwrap may create user namespaces.
abi <abi/4.0>,
include <tunables/global>

profile grader-bwrap $bwrap flags=(unconfined) {
  userns,
  include if exists <local/grader-bwrap>
}
PROFILE
    if $sudo apparmor_parser --replace "$profile"; then
        echo "allow-bwrap-userns: AppArmor profile $profile lets $bwrap create user namespaces" >&2
        exit 0
    fi
    echo "allow-bwrap-userns: the AppArmor profile did not load; lifting the restriction" >&2
fi
$sudo sysctl -q -w kernel.apparmor_restrict_unprivileged_userns=0
echo "allow-bwrap-userns: unprivileged user namespaces allowed on this machine" >&2
