"""Pool maintenance jobs."""

from __future__ import annotations

from leadapp.services import pools as pool_service
from leadapp.tasks import tracked


@tracked(queue="default", timeout=1800)
def refresh_pool_counts(job, progress) -> dict:
    """Recount every pool of the job's account, reporting progress pool by pool."""
    pools = pool_service.list_pools()
    for done, pool in enumerate(pools, start=1):
        pool_service.refresh_counts([pool])
        progress(100 * done / max(len(pools), 1), f"Counted {done} of {len(pools)} pools.")
    return {"pools": len(pools)}
