"""What a scenario found, printed as it ends and gathered into the run's JSON report."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from chaos.accounting import EventAccount, Failures, ModelCheck
from chaos.stack import log
from chaos.webhooks import WebhookAccount


@dataclass
class ScenarioResult:
    number: int
    name: str
    title: str
    duration_s: float = 0.0
    events: EventAccount | None = None
    failures: Failures | None = None
    checks: dict[str, ModelCheck] = field(default_factory=dict)
    # What the partner's webhook receiver applied of the scenario's events.
    webhooks: WebhookAccount | None = None
    # What the scenario measured of its fault (outage length, crash points, rebalance time...).
    facts: dict[str, Any] = field(default_factory=dict)
    # Broken guarantees, each said in a sentence.
    problems: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        events = self.events.lost if self.events else 0
        webhooks = len(self.webhooks.lost) if self.webhooks else 0
        return events + webhooks + sum(len(c.lost) for c in self.checks.values())

    @property
    def doubled(self) -> int:
        inbox = self.events.duplicate_inbox_rows if self.events else 0
        webhooks = len(self.webhooks.doubled) if self.webhooks else 0
        return inbox + webhooks + sum(len(c.doubled) for c in self.checks.values())

    @property
    def unexpected(self) -> int:
        return sum(len(c.unexpected) for c in self.checks.values())

    @property
    def passed(self) -> bool:
        return not self.problems

    def judge(self) -> None:
        """The guarantees every scenario shares: nothing lost, nothing twice, no trace of a
        request said to have failed."""
        if self.events is not None:
            e = self.events
            if e.missing_at_source:
                self.problems.append(
                    f"{len(e.missing_at_source)} acknowledged writes without their events, "
                    f"e.g. {e.missing_at_source[:3]}"
                )
            if e.not_on_broker:
                self.problems.append(f"{len(e.not_on_broker)} sent events never reached the broker")
            for group, delivery in e.groups.items():
                if delivery.lost:
                    self.problems.append(
                        f"group {group}: {len(delivery.lost)} events never arrived, "
                        f"e.g. {delivery.lost[:3]}"
                    )
            if e.duplicate_inbox_rows:
                self.problems.append(f"{e.duplicate_inbox_rows} duplicate inbox rows")
        if self.failures is not None and self.failures.violations:
            self.problems.append(
                f"{len(self.failures.violations)} failed requests left a trace, "
                f"e.g. {self.failures.violations[:3]}"
            )
        if self.webhooks is not None:
            w = self.webhooks
            if w.lost:
                self.problems.append(
                    f"webhook receiver: {len(w.lost)} events never applied, e.g. {w.lost[:3]}"
                )
            if w.doubled:
                self.problems.append(
                    f"webhook receiver: {len(w.doubled)} events delivered under two webhook-ids "
                    f"(applied twice), e.g. {w.doubled[:3]}"
                )
            if w.refused:
                self.problems.append(f"webhook receiver: {w.refused} signatures did not verify")
        for name, check in self.checks.items():
            if not check.exact:
                labels = check.lost + check.doubled + check.unexpected
                self.problems.append(f"read model {name} differs: {labels[:3]}")

    def print(self) -> None:
        verdict = "PASS" if self.passed else "FAIL"
        log(f"== {self.number}. {self.title}: {verdict} in {self.duration_s:.1f}s")
        if self.failures is not None:
            f = self.failures
            writes = self.events.writes if self.events else f.total
            log(
                f"   writes {writes}: {writes - f.total} acknowledged, {f.total} failed "
                f"({f.clean} without a trace, {len(f.committed_unacknowledged)} committed "
                f"though unanswered, {len(f.violations)} violations) {dict(f.by_status)}"
            )
        if self.events is not None:
            e = self.events
            log(
                f"   sent {e.sent} events {dict(e.sent_by_topic)}; {e.deliveries} deliveries "
                f"due to consumer groups; broker copies beyond the first: "
                f"{e.redelivered_on_broker}"
            )
            arrived = ", ".join(
                f"{group} {d.arrived}/{d.expected}" for group, d in e.groups.items()
            )
            log(f"   arrived (inbox): {arrived}")
        if self.webhooks is not None:
            w = self.webhooks
            log(
                f"   webhook receiver: applied {w.applied}/{w.expected}, lost {len(w.lost)}, "
                f"doubled {len(w.doubled)}, redelivered and deduped (run so far) "
                f"{w.redelivered}, settled after {w.settled_after_s}s"
            )
        models = ", ".join(
            f"{name} {'exact' if c.exact else 'DIFFERENT'} ({c.compared})"
            for name, c in self.checks.items()
        )
        log(f"   lost {self.lost}, applied twice {self.doubled}, unexpected {self.unexpected}")
        if models:
            log(f"   read models: {models}")
        for key, value in self.facts.items():
            log(f"   {key}: {value}")
        for problem in self.problems:
            log(f"   PROBLEM: {problem}")

    def as_json(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                return {k: plain(v) for k, v in dataclasses.asdict(value).items()}
            if isinstance(value, dict):
                return {str(k): plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple | set):
                return [plain(v) for v in value]
            return value

        summary = {
            "number": self.number,
            "name": self.name,
            "title": self.title,
            "passed": self.passed,
            "duration_s": round(self.duration_s, 1),
            "lost": self.lost,
            "doubled": self.doubled,
            "unexpected": self.unexpected,
            "facts": plain(self.facts),
            "problems": self.problems,
        }
        if self.events is not None:
            e = self.events
            summary["events"] = {
                "writes": e.writes,
                "acknowledged": e.acknowledged,
                "sent": e.sent,
                "sent_by_topic": dict(e.sent_by_topic),
                "deliveries": e.deliveries,
                "redelivered_on_broker": e.redelivered_on_broker,
                "groups": {
                    g: {"expected": d.expected, "arrived": d.arrived, "lost": len(d.lost)}
                    for g, d in e.groups.items()
                },
                "duplicate_inbox_rows": e.duplicate_inbox_rows,
            }
        if self.webhooks is not None:
            summary["webhooks"] = plain(self.webhooks) | {
                "lost": self.webhooks.lost[:50],
                "doubled": self.webhooks.doubled[:50],
            }
        if self.failures is not None:
            f = self.failures
            summary["failures"] = {
                "total": f.total,
                "by_status": dict(f.by_status),
                "clean": f.clean,
                "committed_unacknowledged": f.committed_unacknowledged[:50],
                "violations": f.violations[:50],
            }
        summary["read_models"] = {
            name: {
                "compared": c.compared,
                "exact": c.exact,
                "lost": c.lost[:20],
                "doubled": c.doubled[:20],
                "unexpected": c.unexpected[:20],
            }
            for name, c in self.checks.items()
        }
        return summary
