"""Read CPU ticks and memory of processes, and of the whole machine, from /proc (Linux only)."""

from __future__ import annotations

import os

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by ``pid`` (0.0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15 of proc(5))


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (from /proc/stat)."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    steal = values[7] if len(values) > 7 else 0  # another VM's time is not ours to count
    guest = sum(values[8:10]) if len(values) > 9 else 0  # already counted in user/nice
    return (sum(values) - idle - steal - guest) / TICK


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` in KiB (VmRSS); 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    """Direct child PIDs of ``pid``."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


class CpuWindow:
    """CPU used during a window by some processes and by everything else on the machine."""

    def __init__(self, pids: dict[str, int]):
        self.pids = {name: pid for name, pid in pids.items() if pid}
        self.start = self._sample()

    def _sample(self) -> dict[str, float]:
        sample = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        sample["_machine"] = machine_busy_seconds()
        return sample

    def stop(self, seconds: float) -> dict[str, float]:
        """Return CPU % of one core for each named process, plus ``foreign`` (the rest of the machine)."""
        end = self._sample()
        used = {name: end[name] - self.start[name] for name in end}
        ours = sum(v for k, v in used.items() if k != "_machine")
        out = {f"{name}_cpu_pct": round(100 * used[name] / seconds, 1) for name in self.pids}
        out["foreign_cpu_pct"] = round(max(used["_machine"] - ours, 0.0) * 100 / seconds, 1)
        return out
