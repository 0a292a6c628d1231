"""The demo account that ``make run`` creates on first start, and how to call the server.

Two files in the data dir, both readable by the server's user only:

- ``demo_api_key``: the API key, alone on its line (what ``ASSURED_API_KEY`` takes);
- ``demo.env``: ``export`` lines for ``ASSURED_BASE_URL``, ``ASSURED_API_KEY`` and
  ``ASSURED_ACCOUNT_ID``, for a shell to ``source``; rewritten at every start, so the base URL
  follows the port.

The banner then prints a whole flow to copy and paste (create an upload, post the file to its
``uploadUrl``, check it, get a download URL, download) and the CLI's equivalent.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from assured_server.auth import accounts
from assured_server.config import Settings
from assured_server.db.engine import Database
from assured_server.db.migrate import migrate
from assured_server.stores.accounts import Accounts

DEMO_KEY_FILE = "demo_api_key"
DEMO_ENV_FILE = "demo.env"


class DemoError(RuntimeError):
    """The demo key on disk cannot be used (its account or key is gone)."""


async def ensure_demo(settings: Settings) -> str:
    """Create the demo account and key once, write ``demo.env``; return the banner."""
    key_path = settings.data_dir / DEMO_KEY_FILE
    db = Database(settings.effective_database_url)
    try:
        await migrate(db)
        if not key_path.exists():
            store = Accounts(db)
            account = await accounts.create_account(store, "demo")
            _, value = await accounts.create_api_key(store, account.id, None)
            _write_private(key_path, value + "\n")
        # An earlier version kept "ACCOUNT_ID KEY" on the line: the key is the last word.
        words = key_path.read_text(encoding="utf-8").split()
        value = words[-1] if words else ""
        if len(words) != 1:
            _write_private(key_path, value + "\n")
        subject = await accounts.authenticate_api_key(Accounts(db), value)
    finally:
        await db.dispose()
    if subject is None:
        raise DemoError(
            f"the demo key in {key_path} no longer works (its account or key is gone): "
            "delete the file and start again for a new one"
        )
    env_path = settings.data_dir / DEMO_ENV_FILE
    base = settings.effective_public_url
    _write_private(env_path, demo_env(base, value, subject.account_id))
    return banner(settings, base, subject.account_id, key_path, env_path)


def demo_env(base_url: str, api_key: str, account_id: str) -> str:
    """The text of ``demo.env``: ``export`` lines a POSIX shell can ``source``."""
    lines = [
        "# The demo account of this Assured server: `source` this file, then use curl or the",
        "# assured CLI. Rewritten at every start with --demo. Keep it private: it holds a key.",
        f"export ASSURED_BASE_URL={shlex.quote(base_url)}",
        f"export ASSURED_API_KEY={shlex.quote(api_key)}",
        f"export ASSURED_ACCOUNT_ID={shlex.quote(account_id)}",
    ]
    return "\n".join(lines) + "\n"


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (mode 0600) atomically: a reader sees the old or the new."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _cli_command() -> str:
    """How to run the ``assured`` CLI from here: the one beside this interpreter when present."""
    candidate = Path(sys.executable).with_name("assured")
    return shlex.quote(str(candidate.absolute())) if candidate.exists() else "assured"


def banner(settings: Settings, base: str, account_id: str, key_path: Path, env_path: Path) -> str:
    """What ``serve --demo`` prints: the key, and two flows that run as pasted (bash or zsh),
    in any directory (absolute paths)."""
    env_file = shlex.quote(str(env_path.resolve()))
    files = "$ASSURED_BASE_URL/v3/accounts/$ASSURED_ACCOUNT_ID/files"  # always in double quotes
    auth = '-H "Authorization: Bearer $TOKEN"'
    exchange = '"{\\"api_key\\": \\"$ASSURED_API_KEY\\"}"'  # the variable, not a key
    create = shlex.quote('{"fileName": "hello.txt", "contentType": "text/plain"}')

    def field(name: str, source: str = "sys.stdin") -> str:
        return shlex.quote(f'import json,sys; print(json.load({source})["{name}"])')

    id_from_file = field("id", 'open("upload.json")')
    # The form: every entry of "fields" as is (--form-string: no @file or <file magic), then
    # the file last, as S3 requires; NUL-separated, so no value is split or globbed.
    form = shlex.quote(
        'import json,sys; t=json.load(open("upload.json")); '
        'sys.stdout.write("".join(f"--form-string\\0{k}={v}\\0" for k, v in t["fields"].items())'
        ' + "-F\\0file=@hello.txt\\0" + t["uploadUrl"])'
    )
    if settings.storage_backend == "filesystem":
        # The embedded storage verifies while the bytes arrive: the state is final at once.
        check = f"curl -s -w '\\n' \"{files}/$FILE_ID\" {auth}"
        check_note = "# status: available"
    else:
        check = f"curl -s -w '\\n' -X POST \"{files}/$FILE_ID/complete\" {auth}"
        check_note = "# verifies now; status: available"
    cli = _cli_command()
    lines = [
        f"Assured is starting on {base} (data in {settings.data_dir.resolve()})",
        f"Demo account: {account_id}",
        f"Demo API key in {key_path.resolve()}; all three settings in {env_path.resolve()}",
        "",
        "Try it with curl (paste into bash or zsh, in a scratch directory):",
        f"  source {env_file}",
        "  printf 'Hello, Assured!\\n' > hello.txt",
        f'  TOKEN=$(curl -s -X POST "$ASSURED_BASE_URL/api/v1/auth/token/" '
        f"-H 'Content-Type: application/json' -d {exchange} | python3 -c {field('access')})",
        f"  curl -s -X POST \"{files}\" {auth} -H 'Content-Type: application/json' "
        f"-d {create} > upload.json",
        f"  FILE_ID=$(python3 -c {id_from_file})",
        f"  python3 -c {form} | xargs -0 curl -s -w '%{{http_code}}\\n'   # 204: uploaded",
        f"  {check}   {check_note}",
        f'  URL=$(curl -s "{files}/$FILE_ID/download-url?expiresIn=300" {auth} '
        f"| python3 -c {field('url')})",
        '  curl -s "$URL" -o hello-copy.txt && cat hello-copy.txt',
        "",
        "The same with the assured CLI (it reads ASSURED_BASE_URL and ASSURED_API_KEY):",
        f"  source {env_file}",
        "  printf 'Hello, Assured!\\n' > hello.txt",
        f"  FILE_ID=$({cli} files upload hello.txt --json | python3 -c {field('id')})",
        f"  {cli} files ls",
        f'  {cli} files download "$FILE_ID" -o copies/ && cat copies/hello.txt',
        "",
        f"API docs: {base}/docs",
        "",
    ]
    return "\n".join(lines)
