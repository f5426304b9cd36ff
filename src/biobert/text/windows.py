"""Overlapping windows over a long subword sequence, and max-context merging.

A sequence longer than the model's capacity is never truncated: it is covered
by windows of ``capacity`` positions that overlap by ``stride`` positions.
Each position is then read from the window in which it is most central
(the "max context" rule of BERT's SQuAD code), so every prediction has at
least ``stride // 2`` positions of context on both sides where possible.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Window", "make_windows", "best_window"]


@dataclass(frozen=True, slots=True)
class Window:
    """Positions ``[start, end)`` of the full sequence."""

    start: int
    end: int

    def context(self, pos: int) -> int:
        """Context on the short side of ``pos`` inside this window (-1 if outside)."""
        if not (self.start <= pos < self.end):
            return -1
        return min(pos - self.start, self.end - 1 - pos)


def make_windows(n: int, capacity: int, stride: int) -> list[Window]:
    """Cover ``range(n)`` with windows of at most ``capacity`` positions overlapping by ``stride``.

    Raises ``ValueError`` if ``stride >= capacity`` (the windows would not advance).
    """
    if capacity <= 0:
        raise ValueError(f"window capacity must be positive, got {capacity}")
    if not 0 <= stride < capacity:
        raise ValueError(f"stride must be in [0, capacity), got stride={stride}, capacity={capacity}")
    if n <= capacity:
        return [Window(0, n)]
    step = capacity - stride
    out = []
    start = 0
    while True:
        end = min(start + capacity, n)
        out.append(Window(start, end))
        if end == n:
            return out
        start += step


def best_window(windows: list[Window], pos: int) -> int:
    """Index of the window that gives ``pos`` the most context (first one on ties)."""
    best, best_ctx = -1, -2
    for i, w in enumerate(windows):
        c = w.context(pos)
        if c > best_ctx:
            best, best_ctx = i, c
    if best_ctx < 0:
        raise ValueError(f"position {pos} is not covered by any window")
    return best
