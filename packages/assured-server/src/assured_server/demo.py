"""The demo account that ``make run`` creates on first start, and how to call the server."""

from __future__ import annotations

import json
import os
import shlex

from assured_server.auth import accounts
from assured_server.config import Settings
from assured_server.db.engine import Database
from assured_server.db.migrate import migrate
from assured_server.stores.accounts import Accounts

DEMO_KEY_FILE = "demo_api_key"


async def ensure_demo(settings: Settings) -> str:
    """Create the demo account and key once (kept in the data dir, mode 0600); say how to use it."""
    key_path = settings.data_dir / DEMO_KEY_FILE
    db = Database(settings.effective_database_url)
    try:
        await migrate(db)
        if not key_path.exists():
            store = Accounts(db)
            account = await accounts.create_account(store, "demo")
            _, value = await accounts.create_api_key(store, account.id, None)
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(f"{account.id} {value}\n")
        account_id, value = key_path.read_text(encoding="utf-8").split()
        if await Accounts(db).account(account_id) is None:
            raise RuntimeError(f"{key_path} names an account that is gone; delete the file")
    finally:
        await db.dispose()
    base = settings.effective_public_url
    body = shlex.quote(json.dumps({"api_key": value}))
    extract = shlex.quote('import json,sys; print(json.load(sys.stdin)["access"])')
    create = shlex.quote(json.dumps({"fileName": "hello.txt", "contentType": "text/plain"}))
    return "\n".join(
        [
            f"Assured is starting on {base} (data in {settings.data_dir.resolve()})",
            f"Demo account: {account_id}",
            f"Demo API key: {value}   (kept in {key_path})",
            "",
            "Get a token and create an upload:",
            f"  TOKEN=$(curl -s -X POST {base}/api/v1/auth/token/ "
            f"-H 'Content-Type: application/json' -d {body} | python3 -c {extract})",
            f"  curl -s -X POST {base}/v3/accounts/{account_id}/files "
            f"-H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -d {create}",
            f"API docs: {base}/docs",
            "",
        ]
    )
