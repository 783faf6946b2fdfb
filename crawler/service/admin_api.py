"""What admins see and do through the API (``/api/admin/``): the people with a role or who
signed in, their roles (the roles file, ``SIGNIN_ROLES_FILE``), and the API tokens (listed
without hashes; revoked here, created only by ``scrapy auth tokens create``, which shows a new
token once), and the indexes of item listings an admin adds (``POST /api/admin/indexes``: the
one way besides the settings to let listings sort or filter by a new field; a GET never creates
one). Every route needs the admin role.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from crawler.service.access import Admin
from crawler.service.gate import GatedRoute
from crawler.service.indexes import IndexLimit
from crawler.service.signin.roles import ROLES, RolesError, RolesFile, people_listing

router = APIRouter(prefix="/api/admin", tags=["admin"], route_class=GatedRoute)


class RoleChange(BaseModel):
    role: str = Field(pattern="^(viewer|editor|admin)$")
    name: str | None = Field(default=None, max_length=100)


class IndexRequest(BaseModel):
    collection: str = Field(min_length=1, max_length=200)
    fields: list[str] = Field(min_length=1, max_length=8)


def _roles_file(request: Request) -> RolesFile:
    signin = request.app.state.signin
    if signin is None:
        raise HTTPException(404, "sign-in is not configured (SIGNIN_PROVIDERS)")
    return signin.roles


@router.get("/people")
def people(request: Request, who: Admin) -> dict[str, Any]:
    signin = request.app.state.signin
    roles_file = _roles_file(request)
    roles = roles_file.roles()
    rows = people_listing(roles.entries, signin.sessions.people(), roles.role_for)
    return {"items": rows, "roles": list(ROLES)}


@router.put("/people/{ident:path}")
def set_role(request: Request, ident: str, body: RoleChange, who: Admin) -> dict[str, Any]:
    try:
        new = _roles_file(request).set(ident, body.role, body.name)
    except RolesError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"id": ident, "role": body.role, "created": new}


@router.delete("/people/{ident:path}")
def remove_role(request: Request, ident: str, who: Admin) -> dict[str, Any]:
    try:
        removed = _roles_file(request).remove(ident)
    except RolesError as exc:
        raise HTTPException(422, str(exc)) from None
    if not removed:
        raise HTTPException(404, f"no entry {ident!r} in the roles file")
    return {"id": ident, "removed": True}


@router.get("/tokens")
def tokens(request: Request, who: Admin) -> dict[str, Any]:
    entries = request.app.state.tokens.file.entries()
    return {"items": [e.public() for e in entries]}


@router.delete("/tokens/{id_or_name}")
def revoke(request: Request, id_or_name: str, who: Admin) -> dict[str, Any]:
    if not request.app.state.tokens.file.revoke(id_or_name):
        raise HTTPException(404, f"no API token with id or name {id_or_name!r}")
    return {"revoked": id_or_name}


@router.get("/indexes")
def indexes(request: Request, who: Admin) -> dict[str, Any]:
    """What admins added (``SERVICE_DATA_DIR/indexes.json``)."""
    added = request.app.state.indexes.admin()
    return {"items": {name: [list(i) for i in found] for name, found in sorted(added.items())}}


@router.post("/indexes")
def add_index(request: Request, body: IndexRequest, who: Admin) -> dict[str, Any]:
    """Let listings of ``collection`` sort and filter by ``fields`` (equality filters first, the
    sort field last): recorded now, the index created by the service's background thread."""
    try:
        created = request.app.state.indexes.add(body.collection, body.fields)
    except IndexLimit as exc:
        raise HTTPException(409, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return {"collection": body.collection, "fields": body.fields, "added": created}
