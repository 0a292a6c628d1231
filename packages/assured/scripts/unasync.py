"""Generate the SDK's sync modules from its async ones, or check that they are current.

Every ``*_async.py`` module under ``src/assured`` whose first line is the marker below has a
sync twin, ``*_sync.py`` beside it, made by the token substitutions of ``SUBSTITUTIONS``
(``async def`` → ``def``, ``await`` dropped, ``AsyncFiles`` → ``Files``, …), then sorted and
formatted by ruff as the rest of the code is. Where async and sync code really differ (sleeping,
locking, reading files in a worker thread), the difference lives in hand-written pairs that the
substitutions map onto each other (``_concurrency.async_sleep`` → ``_concurrency.sleep``,
``sink.awrite`` → ``sink.write``): the async modules never use anyio directly.

    python packages/assured/scripts/unasync.py           # (re)write the sync modules
    python packages/assured/scripts/unasync.py --check   # exit 1 when one is not current
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
SOURCE_ROOT = PACKAGE_ROOT / "src" / "assured"
REPO_ROOT = PACKAGE_ROOT.parents[1]
"""Whose ruff settings the generated code is sorted and formatted with."""

MARKER = "# unasync: the sync twin of this module is generated from it (make unasync).\n"
HEADER = (
    "# generated from {source} by scripts/unasync.py;\n"
    "# do not edit: change the async module and run `make unasync`.\n"
)

# In order: the first rules keep the names the sync API already has, the last ones catch prose.
SUBSTITUTIONS: list[tuple[str, str]] = [
    (r"\bAsyncAPIClient\b", "SyncAPIClient"),
    (r"\bAsyncAPIResource\b", "SyncAPIResource"),
    (r"\bAsyncPaginator\b", "SyncPaginator"),
    (r"\bAssuredClient\b", "Assured"),
    # Every other Async name: AsyncFiles, httpx.AsyncClient, AsyncIterator, AsyncLock, …
    (r"\bAsync(?=[A-Z])", ""),
    (r"\basynccontextmanager\b", "contextmanager"),
    (r"\basync (def|with|for)\b", r"\1"),
    (r"\bawait ", ""),
    (r"\b__a(enter|exit|iter|next)__\b", r"__\1__"),
    (r"\ba(close|read|iter_bytes|write)\b", r"\1"),
    (r"\baiter\(", "iter("),
    (r"\basync_sleep\b", "sleep"),
    # Module names: _base_client_async → _base_client_sync, files._async → files._sync.
    (r"_async\b", "_sync"),
    # What is left is prose: "(async)", "the async client".
    (r"\basync\b", "sync"),
]
_COMPILED = [(re.compile(pattern), replacement) for pattern, replacement in SUBSTITUTIONS]


def sources() -> list[Path]:
    """The async modules that have a generated twin."""
    found = []
    for path in sorted(SOURCE_ROOT.rglob("*_async.py")):
        with path.open(encoding="utf-8") as handle:
            if handle.readline() == MARKER:
                found.append(path)
    return found


def twin(source: Path) -> Path:
    """Where the sync module of ``source`` goes."""
    return source.with_name(source.name.removesuffix("_async.py") + "_sync.py")


def unasync_text(text: str) -> str:
    """The substitutions alone, line by line (the marker line becomes nothing)."""
    lines = text.splitlines(keepends=True)
    if lines and lines[0] == MARKER:
        lines = lines[1:]
    out = []
    for line in lines:
        for pattern, replacement in _COMPILED:
            line = pattern.sub(replacement, line)
        out.append(line)
    return "".join(out)


def _ruff(args: list[str], text: str, filename: Path) -> str:
    result = subprocess.run(  # noqa: S603 - ruff from this interpreter's environment
        [
            *(sys.executable, "-m", "ruff", *args),
            *("--config", str(REPO_ROOT / "pyproject.toml")),
            *("--stdin-filename", str(filename), "-"),
        ],
        input=text,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"ruff {' '.join(args)} failed on {filename}:\n{result.stderr}")
    return result.stdout


def generate(source: Path) -> str:
    """The full text of the sync twin of ``source``: header, code, sorted and formatted."""
    target = twin(source)
    header = HEADER.format(source=source.relative_to(PACKAGE_ROOT).as_posix())
    text = header + unasync_text(source.read_text(encoding="utf-8"))
    # Renamed imports may need sorting again (AsyncIterator, Callable → Callable, Iterator), and
    # shorter lines may now fit on one: the result must pass `ruff check` and `ruff format`.
    text = _ruff(["check", "--quiet", "--select", "I", "--fix", "--exit-zero"], text, target)
    return _ruff(["format", "--quiet"], text, target)


def stale_generated(expected: set[Path]) -> list[Path]:
    """Generated modules whose async source is gone."""
    marker = HEADER.split("{", 1)[0]
    return [
        path
        for path in sorted(SOURCE_ROOT.rglob("*_sync.py"))
        if path not in expected and path.read_text(encoding="utf-8").startswith(marker)
    ]


def main(argv: list[str] | None = None) -> int:
    """Write the sync modules, or with ``--check`` report those that are not current."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    found = sources()
    if not found:
        raise SystemExit(f"no async module with the unasync marker under {SOURCE_ROOT}")
    problems = []
    for source in found:
        target = twin(source)
        wanted = generate(source)
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == wanted:
            continue
        name = target.relative_to(PACKAGE_ROOT)
        if args.check:
            problems.append(f"{name} is not current: run `make unasync`")
        else:
            target.write_text(wanted, encoding="utf-8")
            print(f"wrote {name}")  # noqa: T201 - a command-line tool
    for orphan in stale_generated({twin(source) for source in found}):
        problems.append(f"{orphan.relative_to(PACKAGE_ROOT)} was generated from a module now gone")
    for problem in problems:
        print(problem, file=sys.stderr)  # noqa: T201
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
