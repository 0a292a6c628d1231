"""``GET /v3/accounts/{accountId}/upload-limits``: what an upload may be, asked before sending.

A client that knows a file's size refuses one over ``maxSize`` before it sends a byte and before
it creates a pending file (the create answer carries ``maxSize`` too, but only once the file
exists). Reading the limit changes nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from assured_server.api import schemas
from assured_server.api.deps import Principal, principal, services
from assured_server.api.schemas import answers
from assured_server.auth.scopes import FILES_WRITE

router = APIRouter(prefix="/v3/accounts/{account_id}", tags=["files (v3)"])


@router.get(
    "/upload-limits", summary="The largest accepted upload", **answers(schemas.UploadLimits)
)
async def upload_limits(
    account_id: str, request: Request, who: Annotated[Principal, Depends(principal)]
) -> dict[str, int]:
    """``{"maxSize": bytes}``: the limit of every upload path (v1, v3, the storage form)."""
    who.require_account(account_id)
    who.require(FILES_WRITE)
    return {"maxSize": services(request).settings.max_upload_bytes}
