"""What became of every record a monitor produced: the monitor's produced log
(--produced-log: one "<epoch> <seq>" line per record committed to its outbox,
monitor/agent/produced_log.*) against the manager's store (DIR/netmon.db).

Seqs are gap-free per epoch, so a monitor that produced up to seq S of an
epoch owes the manager every seq 1..S: each one stored, or inside a stored
LOSS row's range ("_loss" rows; their details name the ranges still lost
after the manager reconciled them with what arrived, manager/result_store.*).
"""

import json
import re
import sqlite3

kEpoch = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
kLossCheck = "_loss"


class Produced:
    """One produced log, as far as it was written when read: key counts, the
    highest seq per epoch, and lines that were not "<epoch> <seq>"."""

    def __init__(self, path, max_lines=None):
        self.counts = {}  # (epoch, seq) -> times produced
        self.max_seq = {}  # epoch -> highest seq
        self.epochs = []  # in order of appearance
        self.torn = 0
        self.lines = 0
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            data = b""
        # A last line without its newline is still being written (or was
        # torn by a kill): the repair at the next start rewrites it.
        complete = data[:data.rfind(b"\n") + 1].decode(errors="replace").splitlines()
        for line in complete[:max_lines]:
            self.lines += 1
            fields = line.split(" ")
            if len(fields) != 2 or not kEpoch.match(fields[0]) or not fields[1].isdigit():
                self.torn += 1
                continue
            epoch, seq = fields[0], int(fields[1])
            if epoch not in self.max_seq:
                self.epochs.append(epoch)
                self.max_seq[epoch] = 0
            self.counts[(epoch, seq)] = self.counts.get((epoch, seq), 0) + 1
            self.max_seq[epoch] = max(self.max_seq[epoch], seq)


def loss_ranges(details_text):
    """The seq ranges a loss row claims: details "lost" once the manager
    reconciled it, else from_seq..to_seq (as manager/result_store.cpp)."""
    try:
        details = json.loads(details_text)
    except ValueError:
        return []
    if not isinstance(details, dict):
        return []

    def seq(value):
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 \
            else None

    if isinstance(details.get("lost"), list):
        ranges = []
        for item in details["lost"]:
            if isinstance(item, list) and len(item) == 2:
                low, high = seq(item[0]), seq(item[1])
                if low and high and low <= high:
                    ranges.append((low, high))
        return ranges
    low, high = seq(details.get("from_seq")), seq(details.get("to_seq"))
    return [(low, high)] if low and high and low <= high else []


class Stored:
    """One monitor's rows in the store: seqs per epoch and loss rows."""

    def __init__(self, db, monitor):
        self.seqs = {}  # epoch -> set of stored seqs
        self.repeats = 0  # (epoch, seq) stored more than once
        self.losses = {}  # epoch -> [(loss row seq, ranges, details)]
        row = db.execute("SELECT id FROM monitors WHERE name = ?", (monitor,)).fetchone()
        if row is None:
            return
        monitor_id = row[0]
        for epoch, seq, times in db.execute(
                "SELECT epoch, seq, count(*) FROM records WHERE monitor_id = ? "
                "GROUP BY epoch, seq", (monitor_id,)):
            self.seqs.setdefault(epoch, set()).add(seq)
            self.repeats += times - 1
        for epoch, seq, details in db.execute(
                'SELECT epoch, seq, details FROM records WHERE monitor_id = ? AND "check" = ?',
                (monitor_id, kLossCheck)):
            self.losses.setdefault(epoch, []).append((seq, loss_ranges(details), details))


def covered(ranges, limit):
    """The set of seqs 1..limit inside any of the ranges."""
    seqs = set()
    for low, high in ranges:
        seqs.update(range(max(1, low), min(high, limit) + 1))
    return seqs


class Accounting:
    """The table's numbers for one monitor (or a sum of several)."""

    fields = ("produced", "stored", "reported_lost", "lost_silently", "duplicated",
              "lost_but_stored", "unexpected", "torn")

    def __init__(self):
        for field in self.fields:
            setattr(self, field, 0)
        self.notes = []

    def add(self, other):
        for field in self.fields:
            setattr(self, field, getattr(self, field) + getattr(other, field))
        self.notes += other.notes

    def problems(self):
        """What breaks the promise: silent loss, duplicates, a stored record
        reported lost, a stored record nobody produced."""
        found = []
        if self.lost_silently:
            found.append(f"{self.lost_silently} lost silently")
        if self.duplicated:
            found.append(f"{self.duplicated} duplicated")
        if self.lost_but_stored:
            found.append(f"{self.lost_but_stored} stored yet reported lost")
        if self.unexpected:
            found.append(f"{self.unexpected} stored but never produced")
        return found


def account(produced, stored, monitor):
    """Compares one monitor's produced log with its stored rows."""
    result = Accounting()
    result.torn = produced.torn
    for epoch in produced.epochs:
        limit = produced.max_seq[epoch]
        have = {seq for seq in stored.seqs.get(epoch, ()) if seq <= limit}
        claimed = covered([r for _seq, ranges, _ in stored.losses.get(epoch, []) for r in ranges],
                          limit)
        keys = {seq for (e, seq) in produced.counts if e == epoch}
        result.produced += len(keys)
        result.stored += len(keys & have)
        result.reported_lost += len(claimed)
        result.lost_but_stored += len(claimed & have)
        owed = set(range(1, limit + 1))
        missing = owed - have - claimed
        result.lost_silently += len(missing)
        result.unexpected += len(have - keys)
        if missing:
            result.notes.append(f"{monitor} epoch {epoch[:8]}: {len(missing)} of seqs 1..{limit} "
                                f"neither stored nor reported lost (first {min(missing)})")
    result.duplicated += stored.repeats
    result.duplicated += sum(count - 1 for count in produced.counts.values() if count > 1)
    for epoch in stored.seqs:
        if epoch not in produced.max_seq:
            result.notes.append(f"{monitor}: store holds epoch {epoch[:8]} its produced log "
                                "never had")
    return result


def accounted(cluster, snapshot):
    """True once every seq each monitor's snapshot owes the manager is
    stored or reported lost (cheap enough to poll: counts, and loss rows)."""
    db = cluster.open_store()
    if db is None:
        return False
    try:
        for monitor, produced in snapshot.items():
            row = db.execute("SELECT id FROM monitors WHERE name = ?", (monitor,)).fetchone()
            if row is None:
                return False
            for epoch, limit in produced.max_seq.items():
                (have,) = db.execute("SELECT count(*) FROM records WHERE monitor_id = ? AND "
                                     "epoch = ? AND seq BETWEEN 1 AND ?",
                                     (row[0], epoch, limit)).fetchone()
                ranges = []
                for (details,) in db.execute(
                        'SELECT details FROM records WHERE monitor_id = ? AND epoch = ? AND '
                        '"check" = ?', (row[0], epoch, kLossCheck)):
                    ranges += loss_ranges(details)
                if have + len(covered(ranges, limit)) < limit:
                    return False
        return True
    except sqlite3.Error:  # busy or mid-write: "not yet"
        return False
    finally:
        db.close()
