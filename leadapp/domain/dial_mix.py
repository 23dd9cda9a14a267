"""The campaign's mix of pools: which pool each next call comes from (pure Python).

Rule (issue 18): pools of a higher priority are dialled before pools of a lower one; pools
of the same priority share the calls by their weights, interleaved so that any run of calls
comes as close to the weights' shares as whole calls can (70 / 30 / 100 → 35 / 15 / 50 in
every 20, so in every 100 too). A pool with nothing to dial gives its share to the others.

The interleave is the smooth weighted round-robin (nginx's upstream balancer): each pool's
credit grows by its weight every step, the pool with the most credit is chosen and pays the
total. It is deterministic and periodic: its period is the sum of the weights divided by
their greatest common divisor, so slot ``n`` of the campaign's sequence can be computed from
``n`` alone, and callers asking at the same time need no shared state but a counter.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from functools import lru_cache

# A period past this many slots is cut (weights like 9999/9998/9997); the first
# PERIOD_MAX slots of the sequence still keep every pool within one call of its share.
PERIOD_MAX = 20_000


def _reduced(weights: Sequence[int]) -> tuple[int, ...]:
    g = 0
    for w in weights:
        g = math.gcd(g, w)
    return tuple(w // g for w in weights) if g else tuple(weights)


@lru_cache(maxsize=256)
def _cycle(weights: tuple[int, ...]) -> tuple[int, ...]:
    """One period of the smooth weighted round-robin over ``weights`` (indexes)."""
    reduced = _reduced(weights)
    total = sum(reduced)
    period = min(total, PERIOD_MAX)
    credit = [0] * len(reduced)
    out = []
    for _ in range(period):
        for i, w in enumerate(reduced):
            credit[i] += w
        # Ties go to the earlier pool (a stable, documented order).
        best = max(range(len(reduced)), key=lambda i: (credit[i], -i))
        credit[best] -= total
        out.append(best)
    return tuple(out)


def interleave(weights: Mapping[Hashable, int], start: int, count: int) -> list[Hashable]:
    """Slots ``start`` .. ``start + count - 1`` of the weighted sequence of ``weights``'
    keys (in the mapping's order; pools of weight 0 never come)."""
    keys = [k for k, w in weights.items() if w > 0]
    if not keys or count <= 0:
        return []
    cycle = _cycle(tuple(weights[k] for k in keys))
    n = len(cycle)
    return [keys[cycle[(start + i) % n]] for i in range(count)]


def choose(
    pools: Mapping[Hashable, tuple[int, int]],
    start: int,
    count: int,
    available: Mapping[Hashable, int],
) -> list[Hashable]:
    """The pools of the next ``count`` calls, from slot ``start`` of the campaign's sequence.

    ``pools`` maps a pool to (priority, weight); ``available`` says how many leads each pool
    can give now. The highest priority with leads left is served first; within it the
    weighted sequence is followed, and a pool that runs dry is left out for the remaining
    slots (its share goes to the others). Pools all of weight 0 in a priority share
    equally, so a priority whose weights are all 0 still dials."""
    left = {k: max(0, int(available.get(k, 0))) for k in pools}
    out: list[Hashable] = []
    slot = start
    while len(out) < count:
        live = {k: v for k, v in pools.items() if left[k] > 0}
        if not live:
            break
        top = max(p for p, _w in live.values())
        group = {k: w for k, (p, w) in live.items() if p == top}
        if not any(group.values()):
            group = dict.fromkeys(group, 1)
        # Walk the group's own sequence until one pool is dry; then recompute.
        while len(out) < count:
            key = interleave(group, slot, 1)
            if not key:
                break
            chosen = key[0]
            slot += 1
            out.append(chosen)
            left[chosen] -= 1
            if left[chosen] == 0:
                break
    return out


def shares_of(chosen: Iterable[Hashable]) -> dict[Hashable, float]:
    """Each key's share of ``chosen`` in % (the effective mix)."""
    counts: dict[Hashable, int] = {}
    for key in chosen:
        counts[key] = counts.get(key, 0) + 1
    total = sum(counts.values())
    return {k: 100.0 * v / total for k, v in counts.items()} if total else {}
