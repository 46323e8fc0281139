"""Goal rows about store traffic (S1, S2) and capacity under a model that paces its tokens (C1)."""

from __future__ import annotations

import statistics

S2_LIMIT = 0.9  # chat rate over 10,000 stored sessions / the same on an empty store
C1_LIMIT = 300  # users a worker holds at 50 tokens/s with the p99 chunk gap under 100 ms
D1_LIMIT = 0.10  # two open dashboards may change the paced load's figures by at most 10%


def _median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def _per_reply(window: dict, kind: str) -> float | None:
    calls = window.get("store_calls") or {}
    replies = calls.get("replies")
    return calls[kind] / replies if replies and kind in calls else None


def store_rows(rounds: list[dict]) -> list[dict]:
    """S1: store reads and writes per exchange in steady state; S2: the chat rate with a full store."""
    rows = []
    for kind, goal in (("read", 0.0), ("write", 2.0)):
        per_round = [_per_reply(r.get("demo_steady", {}), kind) for r in rounds]
        value = _median(per_round)
        status = "n/a" if value is None else ("pass" if value <= goal else "fail")
        rows.append(
            {
                "id": "S1",
                "figure": f"store {kind}s per exchange, steady demo chat (counted)",
                "baseline": None,
                "app": value,
                "kind": "count",
                "value": value,
                "per_round": per_round,
                "goal": f"<= {goal:g}" if goal else "0",
                "status": status,
            }
        )
    seeded = [(r.get("seeded_chat") or {}).get("chunks_per_s") for r in rounds]
    empty = [(r.get("demo_chat") or {}).get("chunks_per_s") for r in rounds]
    pairs = [s / e if isinstance(s, (int, float)) and e else None for s, e in zip(seeded, empty, strict=False)]
    value = _median(pairs)
    rows.append(
        {
            "id": "S2",
            "figure": "chat chunks/s with 10k sessions, 100k messages stored (vs empty)",
            "baseline": _median(empty),
            "app": _median(seeded),
            "kind": "ratio",
            "value": value,
            "per_round": pairs,
            "goal": f">= {S2_LIMIT:.2f}",
            "status": "n/a (real MongoDB)" if value is None else ("pass" if value >= S2_LIMIT else "fail"),
        }
    )
    return rows


def capacity_rows(capacity: dict) -> list[dict]:
    """C1: the most users whose step kept the p99 gap between chunks under the limit."""
    steps = capacity.get("steps") or []
    limit = capacity.get("gap_limit_ms", 100.0)
    held = [s["users"] for s in steps if isinstance(s.get("gap_p99_ms"), (int, float)) and s["gap_p99_ms"] < limit]
    best = max(held, default=0)
    tried_more = any(s["users"] > best for s in steps)
    status = "pass" if best >= C1_LIMIT else "fail"
    if best == max((s["users"] for s in steps), default=0) and best and not tried_more:
        status += " (every step held: the ceiling is higher)"
    return [
        {
            "id": "C1",
            "figure": f"users at 50 tokens/s with chunk-gap p99 < {limit:g} ms",
            "baseline": None,
            "app": best,
            "kind": "count",
            "value": best,
            "steps": steps,
            "goal": f">= {C1_LIMIT}",
            "status": status if steps else "n/a",
        }
    ]


def dashboard_rows(capacity: dict) -> list[dict]:
    """D1: the paced load with two dashboards open against the same load without them (median of the pairs)."""
    pairs = capacity.get("dashboards") or {}
    rows = []
    for key, figure, worse in (
        ("gap_p99_ms", "chunk-gap p99 ms", "higher"),
        ("first_p99_ms", "first-token p99 ms", "higher"),
        ("replies_per_s", "replies/s", "lower"),
    ):
        without = _median([w.get(key) for w in pairs.get("without", [])])
        with_ = _median([w.get(key) for w in pairs.get("with", [])])
        value = with_ / without if with_ is not None and without else None
        if worse == "higher":
            goal, ok = f"<= {1 + D1_LIMIT:.2f}", value is not None and value <= 1 + D1_LIMIT
        else:
            goal, ok = f">= {1 - D1_LIMIT:.2f}", value is not None and value >= 1 - D1_LIMIT
        rows.append(
            {
                "id": "D1",
                "figure": f"{figure}, 50 users at 50 tok/s, 2 dashboards open (vs none)",
                "baseline": without,
                "app": with_,
                "kind": "ratio",
                "value": value,
                "goal": goal,
                "status": "n/a" if value is None else ("pass" if ok else "fail"),
            }
        )
    return rows
