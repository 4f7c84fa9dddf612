"""A netmon cluster of real processes in private network namespaces, for the
fault suite (scripts/faults.sh).

Topology: one "core" namespace holds netmon-manager (embedded broker, or a
standalone netmon-broker), netmon-echo and netmon-logger, all on 10.77.0.1
(a /32 on its loopback). Each monitor runs in a namespace of its own, joined
to the core by a veth pair (10.77.N.2 <-> 10.77.N.1), or by a TUN pair
bridged by tests/faults/link_emulator.py when the scenario needs packet loss,
delay or reordering (the kernel has no sch_netem). Partitions are nftables
drop rules on the input hooks, so packets vanish silently, as on a cut wire.
Nothing is added to the host: the suite runs in a private mount namespace
(its /run/netns and its tmpfs mounts are its own), and teardown() stops
every process by PID and deletes every namespace.
"""

import datetime
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

kCoreAddress = "10.77.0.1"
kControlPort = 5555
kBrokerInPort = 5556
kBrokerOutPort = 5557
kEchoPort = 12345
kStartTimeout = 30.0
kStopTimeout = 10.0
kPollInterval = 0.1  # how often a bounded wait looks again

kLogTime = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})")


def run(argv, check=True, timeout=30):
    """Runs a short command; its combined output, or RuntimeError naming it."""
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, timeout=timeout, check=False)
    output = done.stdout.decode(errors="replace")
    if check and done.returncode != 0:
        raise RuntimeError(f"'{' '.join(argv)}' failed ({done.returncode}): {output.strip()}")
    return output


def wait_until(predicate, timeout):
    """Polls predicate until it holds or timeout seconds pass; its last value."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= end:
            return value
        time.sleep(kPollInterval)


def log_line_time(line):
    """The wall-clock time (epoch seconds) of a netmon log line, or None."""
    match = kLogTime.match(line)
    if not match:
        return None
    moment = datetime.datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S.%f")
    return moment.replace(tzinfo=datetime.timezone.utc).timestamp()


class Process:
    """One started program, its combined output in a log file."""

    def __init__(self, role, argv, log_path, env=None):
        self.role = role
        self.argv = argv
        self.log_path = log_path
        self.exit_code = None
        with open(log_path, "ab") as log:
            self.popen = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, env=env,
                                          start_new_session=True)
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def signal(self, number):
        if self.alive():
            os.kill(self.pid, number)

    def text(self, since=0):
        try:
            with open(self.log_path, "rb") as log:
                log.seek(since)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def mark(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def find_line(self, pattern, since=0):
        """The first line after `since` matching the regex, or None."""
        regex = re.compile(pattern)
        for line in self.text(since).splitlines():
            if regex.search(line):
                return line
        return None

    def wait_line(self, pattern, timeout, since=0):
        """The first matching line after `since`; None after timeout or when
        the process exits without printing it."""
        end = time.monotonic() + timeout
        while True:
            line = self.find_line(pattern, since)
            if line is not None:
                return line
            if not self.alive() or time.monotonic() >= end:
                return self.find_line(pattern, since)
            time.sleep(kPollInterval)

    def wait_exit(self, timeout):
        try:
            self.exit_code = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.exit_code

    def stop(self, timeout=kStopTimeout):
        """SIGCONT (it may be stopped), SIGTERM, then SIGKILL after timeout.
        Returns the exit code of the SIGTERM stop, or None when it had to be
        killed (or had exited before)."""
        if not self.alive():
            self.exit_code = self.popen.returncode
            return None
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        code = self.wait_exit(timeout)
        if code is None:
            self.signal(signal.SIGKILL)
            self.wait_exit(timeout)
        return code

    def cpu_seconds(self):
        """User + system CPU time so far, 0 if it is gone."""
        try:
            with open(f"/proc/{self.pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    def rss_mb(self):
        try:
            with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024.0
        except OSError:
            pass
        return 0.0


class Netns:
    def __init__(self, name):
        self.name = name
        run(["ip", "netns", "add", name])
        self.ip("link set lo up")

    def ip(self, args):
        return run(["ip", "-n", self.name] + args.split())

    def exec_prefix(self):
        return ["ip", "netns", "exec", self.name]

    def delete(self):
        run(["ip", "netns", "del", self.name], check=False)


class MonitorSpec:
    def __init__(self, name, index, checks, link="veth", synthetic=0):
        self.name = name
        self.index = index  # 1.. : its link is 10.77.index.0/30
        self.checks = checks
        self.link = link  # "veth" or "emulated"
        self.synthetic = synthetic


class Cluster:
    """One scenario's processes, namespaces and files (under `directory`)."""

    def __init__(self, binaries, directory, tag, monitors, external_broker=False,
                 check_interval="100ms", check_timeout="80ms"):
        self.binaries = binaries
        self.dir = directory
        self.tag = tag
        self.specs = {spec.name: spec for spec in monitors}
        self.external_broker = external_broker
        self.processes = []  # every start, in order, for teardown
        self.mounts = []
        self.namespaces = []
        self.emulators = {}  # monitor name -> (Process, settings file)
        self.monitors = {}  # name -> current Process
        self.monitor_starts = {}
        self.manager = None
        self.broker = None
        self.echo = None
        self.logger = None
        self.manager_dir = os.path.join(directory, "manager")
        os.makedirs(directory, exist_ok=True)
        self.config = os.path.join(directory, "netmon.yaml")
        self._write_config(check_interval, check_timeout)
        self.core = None
        self.monitor_ns = {}

    def setup(self):
        """Creates the namespaces and links (teardown() removes what exists,
        even after a failure half-way)."""
        self.core = self._netns("c")
        self.core.ip(f"addr add {kCoreAddress}/32 dev lo")
        for spec in self.specs.values():
            self.monitor_ns[spec.name] = self._netns(f"m{spec.index}")
            self._link(spec)

    def _write_config(self, interval, timeout):
        lines = [f"defaults: {{interval: {interval}, timeout: {timeout}, retries: 2}}",
                 "monitors:"]
        for spec in self.specs.values():
            lines.append(f"  {spec.name}:")
            if not spec.checks or spec.synthetic:
                lines.append("    checks: []")
                continue
            lines.append("    checks:")
            for n in range(1, spec.checks + 1):
                lines.append(f"      - {{id: echo-{n}, type: tcp_echo, host: {kCoreAddress}, "
                             f"port: {kEchoPort}}}")
        with open(self.config, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

    # --- namespaces and links -------------------------------------------------

    def _netns(self, suffix):
        ns = Netns(f"{self.tag}{suffix}")
        self.namespaces.append(ns)
        return ns

    def _link(self, spec):
        ns = self.monitor_ns[spec.name]
        core_side, monitor_side = f"10.77.{spec.index}.1", f"10.77.{spec.index}.2"
        core_dev = f"link{spec.index}"
        if spec.link == "veth":
            self.core.ip(f"link add {core_dev} type veth peer name link0 netns {ns.name}")
            self.core.ip(f"addr add {core_side}/30 dev {core_dev}")
            ns.ip(f"addr add {monitor_side}/30 dev link0")
        else:
            self.core.ip(f"tuntap add mode tun name {core_dev}")
            ns.ip("tuntap add mode tun name link0")
            self.core.ip(f"addr add {core_side} peer {monitor_side} dev {core_dev}")
            ns.ip(f"addr add {monitor_side} peer {core_side} dev link0")
            settings = os.path.join(self.dir, f"{spec.name}.link.json")
            with open(settings, "w", encoding="utf-8") as f:
                json.dump({}, f)
            emulator = self._start("link-" + spec.name, [
                sys.executable, os.path.join(os.path.dirname(__file__), "link_emulator.py"),
                "--ns-a", self.core.name, "--dev-a", core_dev, "--ns-b", ns.name, "--dev-b",
                "link0", "--settings", settings])
            if emulator.wait_line(r"^applied 1", kStartTimeout) is None:
                raise RuntimeError(f"link emulator for {spec.name} did not start:\n"
                                   + emulator.text())
            self.emulators[spec.name] = (emulator, settings)
        self.core.ip(f"link set {core_dev} up")
        ns.ip("link set link0 up")
        ns.ip(f"route add default via {core_side} dev link0" if spec.link == "veth" else
              "route add default dev link0")
        # One table per namespace for the faults; each partition adds its rules.
        for target in (self.core, ns):
            run(target.exec_prefix() + ["nft", "add table inet netmon_fault"])
            run(target.exec_prefix() + [
                "nft", "add chain inet netmon_fault input "
                "{ type filter hook input priority 0; policy accept; }"])

    def set_link(self, name, to_monitor=None, to_manager=None):
        """The emulated link's per-direction settings (link_emulator.py keys);
        returns once the emulator applied them."""
        emulator, settings = self.emulators[name]
        current = {"a_to_b": to_monitor or {}, "b_to_a": to_manager or {}}
        with open(settings, "w", encoding="utf-8") as f:
            json.dump(current, f)
        mark = emulator.mark()
        emulator.signal(signal.SIGHUP)
        if emulator.wait_line(r"^applied \d+", 5.0, since=mark) is None:
            raise RuntimeError(f"link emulator for {name} did not apply {current}:\n"
                               + emulator.text(mark))

    def link_counters(self, name):
        """The emulator's counters after it stopped, or {}."""
        emulator, _ = self.emulators[name]
        line = emulator.find_line(r"^counters ")
        return json.loads(line.split(" ", 1)[1]) if line else {}

    def partition(self, name, to_monitor=True, to_manager=True):
        """Drops the monitor's packets silently: what the manager side sends
        it (to_monitor) and what it sends (to_manager)."""
        spec = self.specs[name]
        if to_monitor:
            run(self.monitor_ns[name].exec_prefix() +
                ["nft", 'add rule inet netmon_fault input iifname "link0" drop'])
        if to_manager:
            run(self.core.exec_prefix() +
                ["nft", f'add rule inet netmon_fault input iifname "link{spec.index}" drop'])

    def heal(self, name):
        for target in (self.core, self.monitor_ns[name]):
            run(target.exec_prefix() + ["nft", "flush chain inet netmon_fault input"])

    # --- processes ------------------------------------------------------------

    def _start(self, role, argv, env=None):
        count = sum(1 for p in self.processes if p.role == role) + 1
        process = Process(role, argv, os.path.join(self.dir, f"{role}-{count}.log"), env)
        self.processes.append(process)
        return process

    def _await_ready(self, process, pattern="ready"):
        if process.wait_line(pattern, kStartTimeout) is None:
            raise RuntimeError(f"{process.role} (pid {process.pid}) printed no '{pattern}' line "
                               f"within {kStartTimeout:.0f}s:\n{process.text()[-3000:]}")
        return process

    @staticmethod
    def _endpoint(port):
        return f"tcp://{kCoreAddress}:{port}"

    def mount_tmpfs(self, directory, size_mb):
        """A size_mb tmpfs on `directory`, for a full disk. The suite runs in a
        private mount namespace (fault_suite.py), so neither the host nor
        anything outside the suite sees it; teardown() unmounts it."""
        os.makedirs(directory, exist_ok=True)
        run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "netmon-fault",
             directory])
        self.mounts.append(directory)

    def start_echo(self):
        self.echo = self._await_ready(self._start("echo", self.core.exec_prefix() + [
            self.binaries["echo"], "--tcp", f"{kCoreAddress}:{kEchoPort}", "--udp", "off"]),
            "listening")
        return self.echo

    def start_broker(self):
        self.broker = self._await_ready(self._start("broker", self.core.exec_prefix() + [
            self.binaries["broker"], "--in", self._endpoint(kBrokerInPort), "--out",
            self._endpoint(kBrokerOutPort)]))
        return self.broker

    def start_manager(self, tmpfs_mb=None):
        prefix = self.core.exec_prefix()
        if tmpfs_mb and self.manager_dir not in self.mounts:
            self.mount_tmpfs(self.manager_dir, tmpfs_mb)
        args = [self.binaries["manager"], "--config", self.config, "--data-dir", self.manager_dir,
                "--control", self._endpoint(kControlPort), "--broker-in",
                self._endpoint(kBrokerInPort), "--broker-out", self._endpoint(kBrokerOutPort)]
        if self.external_broker:
            args.append("--external-broker")
        self.manager = self._await_ready(self._start("manager", prefix + args))
        return self.manager

    def start_logger(self, output):
        self.logger = self._await_ready(self._start("logger", self.core.exec_prefix() + [
            self.binaries["logger"], "--broker", self._endpoint(kBrokerOutPort), "--json",
            "--output", output]))
        return self.logger

    def produced_log(self, name):
        return os.path.join(self.dir, f"{name}.produced")

    def monitor_dir(self, name):
        return os.path.join(self.dir, name)

    def start_monitor(self, name, extra_args=(), env=None, tmpfs_mb=None, wait_connected=True):
        spec = self.specs[name]
        prefix = self.monitor_ns[name].exec_prefix()
        if env:
            prefix += ["env"] + [f"{key}={value}" for key, value in env.items()]
        if tmpfs_mb and self.monitor_dir(name) not in self.mounts:
            self.mount_tmpfs(self.monitor_dir(name), tmpfs_mb)
        args = [self.binaries["monitor"], "--name", name, "--data-dir", self.monitor_dir(name),
                "--manager", self._endpoint(kControlPort), "--broker",
                self._endpoint(kBrokerInPort), "--produced-log", self.produced_log(name)]
        if spec.synthetic:
            args += ["--synthetic", str(spec.synthetic)]
        process = self._await_ready(self._start(name, prefix + args + list(extra_args)))
        self.monitors[name] = process
        self.monitor_starts[name] = self.monitor_starts.get(name, 0) + 1
        if wait_connected and process.wait_line(r"\bconnected\b", kStartTimeout) is None:
            raise RuntimeError(f"{name} did not connect within {kStartTimeout:.0f}s:\n"
                               + process.text()[-3000:])
        return process

    def start_all(self, logger_output=None):
        self.start_echo()
        if self.external_broker:
            self.start_broker()
        self.start_manager()
        if logger_output:
            self.start_logger(logger_output)
        for name in self.specs:
            self.start_monitor(name)

    def teardown(self):
        """Stops every process still running (reverse start order) and
        deletes the namespaces. Safe to call more than once."""
        for process in reversed(self.processes):
            process.stop()
        self.processes = [p for p in self.processes if p.alive()]
        for ns in reversed(self.namespaces):
            ns.delete()
        self.namespaces = []
        for directory in reversed(self.mounts):
            run(["umount", directory], check=False)
        self.mounts = []

    # --- the store ------------------------------------------------------------

    def store_path(self):
        return os.path.join(self.manager_dir, "netmon.db")

    def open_store(self):
        """A read-only connection to the manager's store, or None while it
        does not exist. Close it soon: an open read blocks WAL checkpoints."""
        path = self.store_path()
        if not os.path.exists(path):
            return None
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
        db.execute("PRAGMA busy_timeout = 5000")
        return db

    def query(self, sql, params=()):
        try:
            db = self.open_store()
            if db is None:
                return []
            try:
                return db.execute(sql, params).fetchall()
            finally:
                db.close()
        except sqlite3.Error:
            return []

    def events(self, since_s=0.0, monitor=None):
        """(time s, monitor, check, from, to, text) of stored events."""
        sql = ('SELECT ts_us, monitor, "check", from_state, to_state, text FROM events '
               "WHERE ts_us >= ?")
        params = [int(since_s * 1e6)]
        if monitor:
            sql += " AND monitor = ?"
            params.append(monitor)
        return [(row[0] / 1e6,) + tuple(row[1:]) for row in self.query(sql + " ORDER BY id",
                                                                        params)]

    def stored_count(self, name):
        rows = self.query("SELECT count(*) FROM records r JOIN monitors m ON m.id = r.monitor_id "
                          "WHERE m.name = ?", (name,))
        return rows[0][0] if rows else 0

    def export_count(self):
        """Rows `netmon-manager export` prints, or an error text."""
        data_dir = os.path.dirname(self.store_path())
        done = subprocess.run([self.binaries["manager"], "export", "--data-dir", data_dir,
                               "--format", "jsonl"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=120, check=False)
        if done.returncode != 0:
            return f"export exited {done.returncode}: {done.stderr.decode(errors='replace')[:300]}"
        lines = [line for line in done.stdout.splitlines() if line.startswith(b"{")]
        for line in lines:
            try:
                json.loads(line)
            except ValueError:
                return "export printed a line that is not JSON"
        return len(lines)
