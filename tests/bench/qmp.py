#!/usr/bin/env python3
"""QMP helper for tests/bench/migrate-transports.sh (python3 stdlib only).

  qmp.py exec SOCKET COMMAND [ARGS_JSON]      run one QMP command, print its "return" as JSON
  qmp.py relay-migrate --src S --dst D --listen URI --uri URI [--channels N] [--timeout SEC] [--stall SEC]
        the socat baseline: set up the paused destination QEMU (QMP socket D, started with
        -incoming defer -S) and the running source (S) with the capabilities and parameters psmig
        applies (MigrationSetup.Commands: events, multifd, multifd-channels N, downtime-limit 300,
        max-bandwidth 1<<40; destination first, then migrate-incoming URI), migrate the source to
        --uri (the relay), wait for completion, start the destination, quit the source; prints one
        JSON object: QEMU's query-migrate numbers plus wall times. No progress for --stall seconds
        (15): cancels, prints status "stalled" and exits 3 (see the comment in relay_migrate); a
        failed migration exits 3 too (the same race can make the destination drop a channel).
  qmp.py watch-migration --qmp SOCKET [--timeout SEC]
        follows a migration on a second QMP monitor of the source QEMU (psmig holds the first) until
        it completed with its times filled in, failed, or QEMU quit; prints QEMU's total-time,
        downtime, bytes and the MIGRATION events as JSON (psmig's own numbers: see the .sh).
  qmp.py cpu-watch [LABEL=]PIDFILE... [--pid [LABEL=]PID]... [--tree [LABEL=]PID]... [--interval SEC]
        samples the CPU time (user+system) of processes and of each of their threads until SIGTERM
        or SIGINT, then prints JSON: per process and thread name the CPU seconds used while watched
        (a process started while watched: its whole life), the machine's busy fraction and busy CPU
        seconds (from /proc/stat; steal excluded), irq+softirq seconds (network processing the
        kernel does not charge to a process), steal, and otherCpuSeconds: busy time outside the
        watched processes and irq (other work on the machine, kernel threads). --tree counts
        the process's descendants too (socat's per-connection children). A PIDFILE may appear
        later or change; a process that exits keeps its last sample (taken every SEC, 0.2).
"""
import json
import os
import signal
import socket
import sys
import time

DOWNTIME_LIMIT_MS = 300
MAX_BANDWIDTH = 1 << 40  # MigrationSetup.Unlimited


class Qmp:
    def __init__(self, path, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.path = path
        self.buf = b""
        self.events = []
        greeting = self._read()
        if "QMP" not in greeting:
            raise RuntimeError(f"{path}: no QMP greeting: {greeting}")
        self.execute("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"{self.path}: QMP closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, command, arguments=None):
        message = {"execute": command}
        if arguments is not None:
            message["arguments"] = arguments
        self.sock.sendall(json.dumps(message).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise RuntimeError(f"{self.path}: {command}: {reply['error'].get('desc')}")
            return reply.get("return")

    def close(self):
        self.sock.close()


def apply_settings(qmp, channels):
    """What MigrationSetup.Commands sends for parallel: Custom, compression none, no TLS."""
    qmp.execute("migrate-set-capabilities", {"capabilities": [
        {"capability": "events", "state": True},
        {"capability": "multifd", "state": channels > 1},
        {"capability": "xbzrle", "state": False},
        {"capability": "postcopy-ram", "state": False},
    ]})
    parameters = {"downtime-limit": DOWNTIME_LIMIT_MS, "max-bandwidth": MAX_BANDWIDTH,
                  "tls-creds": "", "tls-hostname": ""}
    if channels > 1:
        parameters["multifd-channels"] = channels
        parameters["multifd-compression"] = "none"
    qmp.execute("migrate-set-parameters", parameters)


def relay_migrate(args):
    opts = parse_opts(args, {"--src": None, "--dst": None, "--listen": None, "--uri": None,
                             "--channels": "4", "--timeout": "600", "--stall": "15"})
    channels = int(opts["--channels"])
    dst = Qmp(opts["--dst"])
    src = Qmp(opts["--src"])
    apply_settings(dst, channels)
    dst.execute("migrate-incoming", {"uri": opts["--listen"]})
    apply_settings(src, channels)
    started = time.monotonic()
    src.execute("migrate", {"uri": opts["--uri"]})
    deadline = started + float(opts["--timeout"])
    moved, moved_at = -1, time.monotonic()
    while True:
        status = src.execute("query-migrate")
        state = status.get("status")
        if state in ("completed", "failed", "cancelled"):
            break
        sent = status.get("ram", {}).get("transferred", 0)
        if sent != moved:
            moved, moved_at = sent, time.monotonic()
        elif time.monotonic() - moved_at > float(opts["--stall"]):
            # QEMU 7.2 takes the first connection that reaches the destination as the main channel; a
            # relay that connects each accepted connection on its own can deliver them out of order,
            # and then the destination waits forever for the channel it took as a multifd one.
            incoming = dst.execute("query-migrate")
            src.execute("migrate_cancel")
            print(json.dumps({"status": "stalled", "error": f"no progress for {opts['--stall']} s after {sent} bytes; "
                              f"destination: {incoming.get('status', 'not started')} {incoming.get('error-desc', '')}".strip(),
                              "wallMs": round((time.monotonic() - started) * 1000)}))
            return 3
        if time.monotonic() > deadline:
            src.execute("migrate_cancel")
            raise RuntimeError(f"the migration did not finish within {opts['--timeout']} s: {status}")
        time.sleep(0.05)
    completed = time.monotonic()
    # QEMU 7.2 says "completed" a moment before it fills in the times: downtime and total-time read
    # 0 until migration_calculate_complete() has run.
    for _ in range(100):
        if state != "completed" or status.get("total-time"):
            break
        time.sleep(0.01)
        status = src.execute("query-migrate")
    result = {"status": state, "error": status.get("error-desc"),
              "totalTimeMs": status.get("total-time"), "downtimeMs": status.get("downtime"),
              "setupTimeMs": status.get("setup-time"), "bytes": status.get("ram", {}).get("transferred"),
              "qemuMbps": status.get("ram", {}).get("mbps")}
    if state == "completed":
        # Start the destination like the agent's commit: wait until its incoming side completed, then cont.
        for _ in range(500):
            if dst.execute("query-migrate").get("status") in ("completed", "failed"):
                break
            time.sleep(0.02)
        dst.execute("cont")
        running = dst.execute("query-status").get("status")
        result["destination"] = running
        result["commitMs"] = round((time.monotonic() - completed) * 1000)
        try:
            src.execute("quit")
        except (EOFError, OSError):
            pass
    result["wallMs"] = round((time.monotonic() - started) * 1000)
    print(json.dumps(result))
    if state == "failed":
        return 3  # e.g. "Broken pipe": the destination dropped a channel it did not expect (see above)
    return 0 if state == "completed" and result.get("destination") == "running" else 1


def watch_migration(args):
    """Follows a source QEMU's migration on a second QMP monitor until it ends (or QEMU quits)."""
    opts = parse_opts(args, {"--qmp": None, "--timeout": "900", "--interval": "0.01"})
    qmp = Qmp(opts["--qmp"], timeout=float(opts["--timeout"]))
    deadline = time.monotonic() + float(opts["--timeout"])
    last, seen_active = {}, False
    try:
        while time.monotonic() < deadline:
            status = qmp.execute("query-migrate")
            state = status.get("status")
            if state in ("setup", "active", "device", "pre-switchover"):
                seen_active = True
            if state in ("completed", "failed", "cancelled") and seen_active:
                last = status
                if state != "completed" or status.get("total-time"):
                    break
            elif state is not None:
                last = status
            time.sleep(float(opts["--interval"]))
    except (EOFError, OSError):
        # The source quit (psmig quits it right after the commit): keep the events it sent before.
        try:
            while True:
                message = qmp._read()
                if "event" in message:
                    qmp.events.append(message)
        except (EOFError, OSError, ValueError):
            pass
    ram = last.get("ram", {})
    events = [{"status": e["data"].get("status"), "t": e["timestamp"]["seconds"] + e["timestamp"]["microseconds"] / 1e6}
              for e in qmp.events if e.get("event") == "MIGRATION"]
    total = last.get("total-time") or None
    from_events = False
    if total is None:
        # QEMU quit before query-migrate showed the times: the MIGRATION events' timestamps
        # (setup to completed) give the total time; the downtime stays unknown.
        begin = next((e["t"] for e in events if e["status"] == "setup"), None)
        end = next((e["t"] for e in events if e["status"] == "completed"), None)
        if begin is not None and end is not None:
            total, from_events = round((end - begin) * 1000), True
    print(json.dumps({"status": last.get("status"), "totalTimeMs": total, "fromEvents": from_events,
                      "downtimeMs": last.get("downtime") if last.get("total-time") else None,
                      "setupTimeMs": last.get("setup-time"), "bytes": ram.get("transferred"),
                      "mbps": ram.get("mbps"), "events": events}))
    return 0


def read_pidfile(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def stat_fields(path):
    """The fields of a /proc stat file after the command name (field 3 onwards), and the name."""
    with open(path) as f:
        stat = f.read()
    return stat[stat.rindex(")") + 2:].split(), stat[stat.index("(") + 1:stat.rindex(")")]


def cpu_of(pid):
    """(comm, start time in ticks since boot, cpu ticks, {thread key: cpu ticks}) of a live process, or None."""
    try:
        fields, comm = stat_fields(f"/proc/{pid}/stat")
        threads = {}
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                tfields, name = stat_fields(f"/proc/{pid}/task/{tid}/stat")
            except OSError:
                continue
            threads[f"{name}[{tid}]"] = int(tfields[11]) + int(tfields[12])
        return comm, int(fields[19]), int(fields[11]) + int(fields[12]), threads
    except (OSError, ValueError, IndexError):
        return None


def machine_ticks():
    """All ticks, idle (+ iowait), irq + softirq, steal: from the cpu line of /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields[:8]), fields[3] + fields[4], fields[5] + fields[6], fields[7]


def boot_ticks_now(hz):
    with open("/proc/uptime") as f:
        return float(f.read().split()[0]) * hz


def descendants(roots):
    """Every live process below the given pids (by ppid), not the roots themselves."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields, _ = stat_fields(f"/proc/{entry}/stat")
                children.setdefault(int(fields[1]), []).append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    found, todo = [], list(roots)
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cpu_watch(args):
    sources, interval = [], 0.2   # (label, pidfile or None, pid or None, with descendants)
    i = 0
    while i < len(args):
        if args[i] in ("--pid", "--tree"):
            label, _, pid = args[i + 1].rpartition("=")
            sources.append((label or f"pid {pid}", None, int(pid), args[i] == "--tree")); i += 2
        elif args[i] == "--interval":
            interval = float(args[i + 1]); i += 2
        else:
            label, _, path = args[i].rpartition("=")
            sources.append((label or os.path.basename(path), path, None, False)); i += 1
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    hz = os.sysconf("SC_CLK_TCK")
    began = boot_ticks_now(hz)
    first, last, labels = {}, {}, {}   # pid -> (comm, start, total, threads); pid -> label
    total0, idle0, irq0, steal0 = machine_ticks()
    while True:
        for label, path, pid, tree in sources:
            if path is not None:
                pid = read_pidfile(path)
            if pid is None:
                continue
            for one in [pid] + (descendants([pid]) if tree else []):
                seen = cpu_of(one)
                if seen is None:
                    continue
                if one not in first:
                    labels[one] = label
                    # Started while watched: count its whole life; else from now.
                    first[one] = (seen[0], seen[1], 0, {}) if seen[1] >= began - hz else seen
                elif one == pid and not tree:
                    # Named by its own pid file (a QEMU the agent started, whose pid file came after the agent's tree
                    # found it): it is that, not part of the tree.
                    labels[one] = label
                last[one] = seen
        if stop:
            break
        time.sleep(interval)
    total1, idle1, irq1, steal1 = machine_ticks()
    busy = (total1 - total0) - (idle1 - idle0) - (steal1 - steal0)
    out = {"busy": round(busy / max(1, total1 - total0), 3),
           "seconds": round((total1 - total0) / hz / os.cpu_count(), 2),
           "busyCpuSeconds": round(busy / hz, 2), "irqCpuSeconds": round((irq1 - irq0) / hz, 2),
           "stealCpuSeconds": round((steal1 - steal0) / hz, 2), "processes": []}
    ours = 0
    for pid, (comm, _, total, threads) in last.items():
        start_threads = first[pid][3]
        per = {}
        for t, ticks in threads.items():
            name = t.rsplit("[", 1)[0]
            per[name] = per.get(name, 0) + (ticks - start_threads.get(t, 0)) / hz
        used = (total - first[pid][2]) / hz
        ours += used
        out["processes"].append({"label": labels[pid], "pid": pid, "comm": comm, "cpu": round(used, 2),
                                 "threads": {k: round(v, 2) for k, v in sorted(per.items(), key=lambda kv: -kv[1]) if v >= 0.01}})
    out["otherCpuSeconds"] = round((busy - (irq1 - irq0)) / hz - ours, 2)
    print(json.dumps(out))
    return 0


def parse_opts(args, defaults):
    opts = dict(defaults)
    i = 0
    while i < len(args):
        if args[i] not in opts or i + 1 >= len(args):
            raise SystemExit(f"qmp.py: unknown or incomplete option {args[i]}")
        opts[args[i]] = args[i + 1]
        i += 2
    missing = [k for k, v in opts.items() if v is None]
    if missing:
        raise SystemExit(f"qmp.py: missing {', '.join(missing)}")
    return opts


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    verb = argv[1]
    if verb == "exec":
        qmp = Qmp(argv[2])
        result = qmp.execute(argv[3], json.loads(argv[4]) if len(argv) > 4 else None)
        print(json.dumps(result))
        return 0
    if verb == "relay-migrate":
        return relay_migrate(argv[2:])
    if verb == "cpu-watch":
        return cpu_watch(argv[2:])
    if verb == "watch-migration":
        return watch_migration(argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
