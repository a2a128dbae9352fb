"""Resident memory of every process of the stack, sampled on a fixed period, and the verdict on
growth after warm-up."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import psutil

from bench.stack import Stack

# PostgreSQL and Kafka fill their caches by design: reported, never judged.
INFRASTRUCTURE = ("postgresql", "kafka")
MAX_GROWTH = 0.10


# Resident memory now, not bench.stack's peak_rss_mib/infrastructure_peaks (VmHWM, the
# high-water mark): a peak never falls, so one burst freed again would read as growth.
def _rss_mib(processes: list[psutil.Process]) -> float:
    """The largest process of a tree (``uv run`` wraps each service's Python process)."""
    sizes = []
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            sizes.append(process.memory_info().rss / 2**20)
    return max(sizes, default=0.0)


def _infrastructure_mib() -> dict[str, float]:
    postgres = kafka = 0.0
    for process in psutil.process_iter(["name", "cmdline"]):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            if process.info["name"] == "postgres":
                postgres += process.memory_info().rss / 2**20
            elif "kafka.Kafka" in " ".join(process.info["cmdline"] or []):
                kafka = max(kafka, process.memory_info().rss / 2**20)
    return {"postgresql": postgres, "kafka": kafka}


@dataclass
class MemorySampler:
    stack: Stack
    every_s: float = 10.0
    samples: list[dict[str, float]] = field(default_factory=list)

    def sample(self) -> None:
        sizes = {name: _rss_mib(tree) for name, tree in self.stack.processes().items()}
        self.samples.append({**sizes, **_infrastructure_mib()})

    async def run(self, stop: asyncio.Event) -> None:
        while True:
            self.sample()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.every_s)
                self.sample()
                return

    def growth(self) -> dict[str, dict[str, float | bool]]:
        """Per process: memory at the end of the first quarter (after warm-up) and at the end,
        each the median of three neighbouring samples so one sample's noise decides nothing."""
        if len(self.samples) < 8:
            return {}
        quarter = len(self.samples) // 4
        verdicts: dict[str, dict[str, float | bool]] = {}
        for name in self.samples[0]:
            warm = _median([s[name] for s in self.samples[quarter - 1 : quarter + 2]])
            end = _median([s[name] for s in self.samples[-3:]])
            growth = (end - warm) / warm if warm else 0.0
            verdicts[name] = {
                "start_mib": round(self.samples[0][name], 1),
                "after_warm_up_mib": round(warm, 1),
                "end_mib": round(end, 1),
                "growth": round(growth, 3),
                "judged": name not in INFRASTRUCTURE,
                "grew": name not in INFRASTRUCTURE and growth > MAX_GROWTH,
            }
        return verdicts


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
