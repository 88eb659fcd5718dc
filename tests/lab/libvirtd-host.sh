#!/usr/bin/env bash
# Runs a real libvirtd (Debian's libvirt-daemon-system) for one lab host, in the foreground. Run it
# inside the host's network namespace (lab.sh exec NAME a|b libvirtd-host.sh STATE ADDRESS); it adds a
# private mount namespace, so each host has its own /run/libvirt, /var/lib/libvirt, /var/cache/libvirt,
# /var/log/libvirt, qemu.conf and /run/psmigration (psmig's default run directory), all kept in STATE:
#
#   STATE/run        /run/libvirt (libvirtd.pid, the unix sockets)
#   STATE/psmig      /run/psmigration (serial logs, the engine's migration sockets)
#   STATE/pki        QEMU's migration TLS credentials (ca-cert.pem, server-*.pem, client-*.pem), if any
#
# libvirtd listens on TCP at ADDRESS without authentication (lab only). Run psmig and agents in the
# same namespaces with: nsenter --mount=/proc/$(cat STATE/run/libvirtd.pid)/ns/mnt -- COMMAND.
set -euo pipefail
state="$1" address="$2"
[ "$(id -u)" -eq 0 ] || { echo "libvirtd-host.sh: needs root" >&2; exit 1; }
command -v libvirtd >/dev/null || { echo "libvirtd-host.sh: apt-get install libvirt-daemon-system libvirt-clients" >&2; exit 1; }
mkdir -p "$state"/{run,lib,cache,log,etc,psmig,pki}
cat >"$state/etc/libvirtd.conf" <<EOC
listen_tls = 0
listen_tcp = 1
listen_addr = "$address"
auth_tcp = "none"
auth_unix_rw = "none"
EOC
# stdio_handler=file: no virtlogd; root without dynamic ownership or a security driver (no AppArmor here).
cat >"$state/etc/qemu.conf" <<EOC
stdio_handler = "file"
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
migrate_tls_x509_cert_dir = "$state/pki"
migrate_tls_x509_verify = 1
EOC
exec unshare -m --propagation private bash -c '
  set -e
  s="$1"
  mkdir -p /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt /run/psmigration
  mount --bind "$s/run" /run/libvirt
  mount --bind "$s/lib" /var/lib/libvirt
  mount --bind "$s/cache" /var/cache/libvirt
  mount --bind "$s/log" /var/log/libvirt
  mount --bind "$s/psmig" /run/psmigration
  mount --bind "$s/etc/qemu.conf" /etc/libvirt/qemu.conf
  mkdir -p /var/lib/libvirt/qemu /var/cache/libvirt/qemu /var/log/libvirt/qemu
  exec libvirtd --listen --config "$s/etc/libvirtd.conf" --pid-file "$s/run/libvirtd.pid"
' _ "$state"
