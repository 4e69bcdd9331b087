"""What machine a measurement came from, and its power draw where the OS exposes it."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time
from functools import lru_cache
from pathlib import Path

_ISA = ("avx", "avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16", "fma", "f16c", "neon", "asimd", "sve", "dotprod")


@lru_cache(maxsize=1)
def _cpuinfo() -> tuple[str, frozenset[str]]:
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, val = line.partition(":")
            key = key.strip()
            if key in ("model name", "Model") and val.strip():
                model = val.strip()
            elif key in ("flags", "Features"):
                flags.update(val.split())
    except OSError:
        pass
    return model, frozenset(flags)


def cpu_flags() -> frozenset[str]:
    """Every instruction-set flag the OS reports for this CPU (empty where there is no /proc/cpuinfo)."""
    return _cpuinfo()[1]


def _mem_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def available_bytes() -> int | None:
    """Memory a new allocation can have now (MemAvailable), not the machine's total."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


@lru_cache(maxsize=1)  # machine() and PowerMeter both ask; nvidia-smi takes a while
def _gpus() -> tuple[str, ...]:
    if not shutil.which("nvidia-smi"):
        return ()
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return tuple(line.strip() for line in out.splitlines() if line.strip())


def machine() -> dict:
    model, flags = _cpuinfo()
    return {
        "cpu": model, "cores": os.cpu_count(), "isa": [f for f in _ISA if f in flags], "memory_bytes": _mem_bytes(), "gpus": list(_gpus()),
        "os": f"{platform.system()} {platform.release()}", "python": sys.version.split()[0], "machine": platform.machine(),
    }


class PowerMeter:
    """Average watts over an interval from RAPL (CPU package) or NVML (nvidia-smi); None where neither is readable."""

    def __init__(self):
        self.rapl = sorted(Path("/sys/class/powercap").glob("intel-rapl:[0-9]*/energy_uj"))
        self.rapl = [p for p in self.rapl if os.access(p, os.R_OK)]
        self.nvml = bool(shutil.which("nvidia-smi")) and bool(_gpus())
        self.source = "RAPL" if self.rapl else ("NVML" if self.nvml else None)
        self._t0 = self._e0 = None
        self._samples: list[float] = []

    @classmethod
    def off(cls) -> "PowerMeter":
        """A meter that reads nothing (the work runs on another machine)."""
        m = cls()
        m.rapl, m.nvml, m.source = [], False, None
        return m

    def _energy_j(self) -> float:
        return sum(int(p.read_text()) for p in self.rapl) / 1e6

    def start(self) -> None:
        self._t0 = time.monotonic()
        if self.rapl:
            self._e0 = self._energy_j()

    def sample(self) -> None:
        """NVML reports instantaneous power; call this now and then during a run."""
        if self.nvml:
            try:
                out = subprocess.run(["nvidia-smi", "--query-gpu=power.draw", "--format=csv,noheader,nounits"],
                                     capture_output=True, text=True, timeout=5).stdout
                self._samples.append(sum(float(x) for x in out.split()))
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass

    def watts(self) -> float | None:
        if self.rapl and self._t0 is not None:
            dt = time.monotonic() - self._t0
            de = self._energy_j() - self._e0
            return de / dt if dt > 0 and de >= 0 else None  # counter wrap: give up rather than guess
        return sum(self._samples) / len(self._samples) if self._samples else None
