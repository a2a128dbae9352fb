"""Per-key token buckets. In memory, so per gateway process: with N replicas a key may reach N
times the rate (a shared store would fix that; not needed at this scale)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from bp_common.errors import DomainError


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(
        self,
        per_minute: int,
        burst: int,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def check(self, key: str, *, per_minute: int | None = None) -> None:
        """Take one token for ``key`` or raise 429 with the seconds until one is available.
        ``per_minute`` is the key's own rate (None: the default), given on every call, so that a
        changed limit applies at once; a key slower than the default burst has its rate as burst."""
        now = self.clock()
        rate = self.rate if per_minute is None else per_minute / 60.0
        burst = self.burst if per_minute is None else min(self.burst, float(per_minute))
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._buckets.clear()  # bounded memory; forgetting buckets only forgives
            bucket = self._buckets[key] = _Bucket(burst, now)
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens < 1:
            retry_after = math.ceil((1 - bucket.tokens) / rate)
            raise RateLimited(
                f"Too many requests for this key; retry in {retry_after} s.",
                headers={"Retry-After": str(retry_after)},
            )
        bucket.tokens -= 1
