#!/usr/bin/env bash
# Installs the Debian packages of the commands that are missing, when it can (root and apt-get);
# otherwise says what to install. Used by tests/run.sh and ./psmig demo.
#   scripts/ensure-commands.sh WHAT-FOR COMMAND:PACKAGE...
# Always exits 0: what stays missing is reported by whoever needs it, with the reason.
purpose="$1"; shift
missing=""
for t in "$@"; do
  PATH="$PATH:/usr/sbin:/sbin" command -v "${t%%:*}" >/dev/null || case " $missing " in *" ${t#*:} "*) ;; *) missing="$missing ${t#*:}" ;; esac
done
[ -n "$missing" ] || exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "not root: not installing$missing for $purpose (apt-get install$missing)" >&2
elif ! command -v apt-get >/dev/null; then
  echo "no apt-get: install$missing for $purpose" >&2
else
  echo "installing$missing for $purpose" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! out="$({ apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } 2>&1)"; then
    printf '%s\n' "$out" | tail -n 5 >&2
    echo "apt-get install$missing failed; $purpose will say what is missing" >&2
  fi
fi
exit 0
