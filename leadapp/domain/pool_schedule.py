"""When a pool's leads may be used: its day offset, day count and time range (seed 004).

The rules, in the supervisor's words:

- **Day offset**: the pool's leads are first dialled ``day_offset`` days after the pool's
  start (its "active from" date, else the day it was created). 0: from the start.
- **Day count**: the leads are spread over ``day_count`` days from that first day, in dial
  order, an equal share a day: by the end of day *k* (1-based) the first
  ``ceil(k * size / day_count)`` positions of the dial order are released, ``size`` being
  the number of dial-order positions the pool has handed out. Empty: all on the first day.
- **Time range**: the time of day (the lead's local time, like the campaign's calling
  hours) in which the pool's leads may be called; ``time_until`` before ``time_from``
  runs past midnight. Empty: any time the campaign's hours allow.

Pure: no Flask, no SQLAlchemy."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Distribution:
    """A pool's day offset, day count and time range."""

    day_offset: int = 0
    day_count: int | None = None
    time_from: dt.time | None = None
    time_until: dt.time | None = None

    def first_day(self, start: dt.date) -> dt.date:
        """The first day the pool's leads may be dialled, for a pool starting on ``start``."""
        return start + dt.timedelta(days=max(self.day_offset or 0, 0))

    def released(self, today: dt.date, start: dt.date, size: int) -> int | None:
        """How many dial-order positions (from 0) are released on ``today``: 0 before the
        first day, None when all are (no day count, or its last day has come)."""
        first = self.first_day(start)
        if today < first:
            return 0
        if not self.day_count or self.day_count <= 1:
            return None
        day = (today - first).days + 1  # 1 on the first day
        if day >= self.day_count:
            return None
        return math.ceil(day * size / self.day_count)

    def lead_day(self, position: int, start: dt.date, size: int) -> dt.date:
        """The day the lead at dial-order ``position`` (from 0) is released."""
        first = self.first_day(start)
        if not self.day_count or self.day_count <= 1 or size <= 0:
            return first
        # The smallest day k with ceil(k * size / day_count) > position, i.e. with
        # k * size / day_count > position (position is whole); the last day at most.
        day = min(position * self.day_count // size + 1, self.day_count)
        return first + dt.timedelta(days=day - 1)

    def in_time_range(self, local: dt.time) -> bool:
        """Whether a lead whose local time is ``local`` may be called by this pool's range."""
        if self.time_from is None and self.time_until is None:
            return True
        start = self.time_from or dt.time(0, 0)
        end = self.time_until or dt.time(23, 59, 59, 999999)
        if start <= end:
            return start <= local <= end
        return local >= start or local <= end  # past midnight

    def sentences(self, start: dt.date) -> list[str]:
        """The rules as the pool page says them."""
        first = self.first_day(start)
        out = []
        if self.day_offset:
            days = "day" if self.day_offset == 1 else "days"
            out.append(
                f"Dialled from {first:%d %b %Y}, {self.day_offset} {days} after the pool's "
                f"start ({start:%d %b %Y})."
            )
        else:
            out.append(f"Dialled from the pool's start ({start:%d %b %Y}).")
        if self.day_count and self.day_count > 1:
            last = first + dt.timedelta(days=self.day_count - 1)
            out.append(
                f"Spread over {self.day_count} days in dial order, an equal share each day "
                f"(all released by {last:%d %b %Y})."
            )
        else:
            out.append("All leads released on the first day.")
        if self.time_from or self.time_until:
            start_text = f"{self.time_from:%H:%M}" if self.time_from else "00:00"
            end_text = f"{self.time_until:%H:%M}" if self.time_until else "24:00"
            out.append(f"Called only between {start_text} and {end_text}, the lead's local time.")
        return out
