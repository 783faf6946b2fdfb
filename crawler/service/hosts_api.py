"""Hosts API: each host's politeness budget and its use (crawler/politeness/), as every crawl
sharing the budget sees it: the rate and concurrency asked for, requests granted, waits, in
flight now, slow-downs and how long the host is still paused.

The budget is visible here when crawls share it through Redis (``HOST_BUDGET_REDIS_URL``, or a
distributed crawl's ``REDIS_URL``); a budget kept in each crawl's own process is not, and the
answer says so (``shared: false``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from crawler.service.access import read_access
from crawler.service.gate import GatedRoute

router = APIRouter(
    prefix="/api/hosts",
    tags=["hosts"],
    dependencies=[Depends(read_access)],
    route_class=GatedRoute,
)


@router.get("")
def list_hosts(request: Request, limit: int = Query(200, ge=1, le=1000)) -> dict[str, Any]:
    settings = request.app.state.settings
    if not (settings.get("HOST_BUDGET_REDIS_URL") or settings.get("REDIS_URL")):
        return {"shared": False, "hosts": []}
    from crawler.politeness import budget_from_settings

    budget = budget_from_settings(settings)
    try:
        hosts = budget.hosts(limit=limit)
    except Exception as exc:  # Redis away: one line, as every operating error
        raise HTTPException(503, f"the host budget's Redis cannot be read: {exc}") from None
    finally:
        client = getattr(budget, "client", None)
        if client is not None:
            client.close()
    return {"shared": True, "hosts": hosts}
