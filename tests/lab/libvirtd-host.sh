#!/usr/bin/env bash
# WORK IN PROGRESS for issue 5 (libvirt backend), not yet used by any test.
# Runs a real libvirtd for one lab host: inside the host's network namespace and in a private
# mount namespace, so each host has its own /run/libvirt, /var/lib/libvirt, /var/cache/libvirt,
# /var/log/libvirt and qemu.conf, and libvirtd listens on TCP (auth none: lab only) at ADDRESS.
#
#   libvirtd-host.sh NAME a|b STATE_DIR ADDRESS      (root; runs libvirtd in the foreground)
#
# Verified by hand on this machine (Debian 12, libvirt 9.0.0, QEMU 7.2): two of these in lab
# hosts a and b, `virsh -c qemu+tcp://198.51.100.1/system create guest.xml` of the test guest,
#   virsh migrate --live --p2p --parallel --parallel-connections 4 \
#     --migrateuri tcp://198.51.100.2 --listen-address 198.51.100.2 DOMAIN qemu+tcp://198.51.100.2/system
# moved it in 3.5 s with MEMCHECK OK continuing; and UNIX-socket migration relayed by socat
# (unix:///run/libvirt/mig.sock on both hosts: libvirt makes the destination QEMU listen on the
# SAME path as the source connects to, and forbids --listen-address with unix URIs) worked too.
set -euo pipefail
name="$1" host="$2" state="$3" address="$4"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ "$(id -u)" -eq 0 ] || { echo "libvirtd-host.sh: needs root" >&2; exit 1; }
command -v libvirtd >/dev/null || { echo "libvirtd-host.sh: apt-get install libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu" >&2; exit 1; }
mkdir -p "$state"/{run,lib,cache,log,etc}
cat >"$state/etc/libvirtd.conf" <<EOC
listen_tls = 0
listen_tcp = 1
listen_addr = "$address"
auth_tcp = "none"
auth_unix_rw = "none"
EOC
# stdio_handler=file: no virtlogd; root without dynamic ownership or a security driver (no apparmor here).
cat >"$state/etc/qemu.conf" <<EOC
stdio_handler = "file"
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
EOC
exec bash "$here/lab.sh" exec "$name" "$host" unshare -m --propagation private bash -c '
  set -e
  s="$1"
  mkdir -p /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt
  mount --bind "$s/run" /run/libvirt
  mount --bind "$s/lib" /var/lib/libvirt
  mount --bind "$s/cache" /var/cache/libvirt
  mount --bind "$s/log" /var/log/libvirt
  mount --bind "$s/etc/qemu.conf" /etc/libvirt/qemu.conf
  mkdir -p /var/lib/libvirt/qemu /var/cache/libvirt/qemu /var/log/libvirt/qemu
  exec libvirtd --listen --config "$s/etc/libvirtd.conf" --pid-file "$s/run/libvirtd.pid"
' _ "$state"
