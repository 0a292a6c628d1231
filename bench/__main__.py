"""``python -m bench [--quick]``: run every benchmark here and print ONE markdown table.

Every comparison in the table is measured in the same run, interleaved, on this machine;
figures are medians of several runs. Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench import (
    api_rate,
    cors_rate,
    large_uploads,
    link_page,
    login_flood,
    presign,
    sdk,
    slow_clients,
    small_docs,
    wrk,
)
from bench.ceiling_app import CeilingProcess
from bench.common import MIB, BenchServer
from bench.deployments import (
    LOAD_ENV,
    LOAD_WORKERS,
    POSTGRES_SEAWEED,
    SQLITE_FILESYSTEM,
    postgres_seaweed,
)
from bench.login_flood_client import CLIENTS as FLOOD_CLIENTS
from bench.report import Row, load_average, machine, rate, render, times, verdict, wrk_cell
from bench.seaweed import Seaweed

GIB = 1 << 30


@dataclass(frozen=True)
class Profile:
    """How big and how long: ``quick`` takes about three minutes in all."""

    name: str
    size: int
    rounds: int
    """Rounds of the large-upload contenders."""
    presign_seconds: float
    load_seconds: float
    """Length of one wrk / thread-pool / SDK run."""
    runs: int
    """Runs per load figure (the median is reported)."""


QUICK = Profile("quick", 256 * MIB, rounds=3, presign_seconds=0.3, load_seconds=2, runs=3)
FULL = Profile("full", GIB, rounds=5, presign_seconds=1.0, load_seconds=10, runs=5)


def say(message: str) -> None:
    """Progress, on stderr."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def stopping(thing: BenchServer | CeilingProcess | Seaweed) -> Iterator[None]:
    """Stop a started process whatever happens."""
    try:
        yield
    finally:
        thing.stop()


def large_rows(result: large_uploads.LargeResults, notes: list[str]) -> list[Row]:
    """Rows 1 and 2 (row 1 also on PostgreSQL + SeaweedFS when that ran)."""
    size_mib = result.size // MIB
    rows: list[Row] = []
    ceiling = result.mb_per_s("ceiling")
    seaweed = result.mb_per_s("seaweed")
    disk = result.mb_per_s("dd")
    proxied = f"Proxied upload, {size_mib} MiB, `POST /api/v1/files/handle/`"
    contenders = [
        ("1", "proxied", f"{proxied}, {SQLITE_FILESYSTEM}"),
        ("1", "pg-seaweed", f"{proxied}, {POSTGRES_SEAWEED}"),
        (
            "2",
            "direct",
            f"Direct upload, {size_mib} MiB, pre-signed form to `/storage`, {SQLITE_FILESYSTEM}",
        ),
    ]
    for section, name, label in contenders:
        ours = result.mb_per_s(name)
        if ours is None:  # PostgreSQL + SeaweedFS did not run: a note says why
            continue
        assert ceiling is not None
        cpu = f"server CPU {result.cpu_ms_per_mib(name):.2f} ms/MiB"
        ours_cell = f"{rate(ours, 'MB/s')} ({cpu})"
        rows.append(
            Row(
                section,
                label,
                ours_cell,
                f"ceiling (bare ASGI app, same stack) {rate(ceiling, 'MB/s')} "
                f"(CPU {result.cpu_ms_per_mib('ceiling'):.2f} ms/MiB)",
                times(result.ratio(name, "ceiling")),
                "≥ 0.8× ceiling",
                verdict(result.ratio(name, "ceiling") >= 0.8),
            )
        )
        if seaweed is not None:
            rows.append(
                Row(
                    section,
                    label,
                    rate(ours, "MB/s"),
                    f"SeaweedFS, boto3 `put_object` {rate(seaweed, 'MB/s')}",
                    times(result.ratio(name, "seaweed")),
                    "≥ 2× SeaweedFS",
                    verdict(result.ratio(name, "seaweed") >= 2),
                )
            )
        else:
            rows.append(
                Row(
                    section,
                    label,
                    rate(ours, "MB/s"),
                    "SeaweedFS: not run",
                    "—",
                    "≥ 2× SeaweedFS",
                    "skipped",
                )
            )
        peak = result.peak_rss_mib(name)
        rows.append(
            Row(
                section,
                f"{label}: server peak RSS",
                f"{peak:.0f} MiB (idle {result.idle_rss_mib[name]:.0f} MiB)",
                f"ceiling app {result.peak_rss_mib('ceiling'):.0f} MiB"
                + (f"; SeaweedFS {result.peak_rss_mib('seaweed'):.0f} MiB" if seaweed else ""),
                "—",
                "< 100 MiB",
                verdict(peak < 100),
            )
        )
    if disk is not None:
        rows.append(
            Row(
                "1–2",
                f"The disk: `dd if=/dev/zero bs=1M count={size_mib} conv=fsync`",
                rate(disk, "MB/s"),
                result="reference",
            )
        )
    per_round = "; ".join(
        f"{name} " + ", ".join(f"{result.size / t.seconds / 1e6:.0f}" for t in runs)
        for name, runs in result.transfers.items()
    )
    notes.append(f"Large uploads, MB/s of each round in round order: {per_round}.")
    cpu = ", ".join(
        f"{name} {result.cpu_ms_per_mib(name):.2f} ms "
        f"(curl {result.cpu_ms_per_mib(name, client=True):.2f} ms)"
        for name in ("proxied", "pg-seaweed", "direct", "ceiling")
        if name in result.transfers
    )
    notes.append(f"Large uploads, median CPU per MiB of the receiving process and of curl: {cpu}.")
    if "pg-seaweed" in result.transfers:
        notes.append(
            f"On {POSTGRES_SEAWEED} the server streams each upload on into SeaweedFS (S3 "
            "multipart), so its speed is bounded by SeaweedFS's own: the ≥ 2× SeaweedFS target "
            "cannot be met there by construction (it is `pg-seaweed` in the notes above)."
        )
    if seaweed is not None:
        notes.append(
            f"The boto3 client spent a median {result.client_cpu_seconds:.2f} s of CPU per "
            f"{size_mib} MiB PUT (over plain HTTP botocore signs the payload: SHA-256 of the "
            "whole body before sending)."
        )
    return rows


def presign_rows(ops: dict[str, float]) -> list[Row]:
    """Row 3, in-process."""
    return [
        Row(
            "3",
            "Pre-sign a download URL, in-process, one thread (`presign_url`)",
            rate(ops["ours_url"], "ops/s"),
            f"boto3 `generate_presigned_url` {rate(ops['boto_url'], 'ops/s')}"
            + (" (the same URL, byte for byte)" if ops["same_url"] else " (URLs DIFFER)"),
            times(ops["ours_url"] / ops["boto_url"]),
            "≥ 15× boto3",
            verdict(ops["ours_url"] / ops["boto_url"] >= 15),
        ),
        Row(
            "3",
            "Pre-sign an upload POST policy, in-process, one thread (`presign_post`)",
            rate(ops["ours_post"], "ops/s"),
            f"boto3 `generate_presigned_post` {rate(ops['boto_post'], 'ops/s')}",
            times(ops["ours_post"] / ops["boto_post"]),
            "≥ 15× boto3",
            verdict(ops["ours_post"] / ops["boto_post"] >= 15),
        ),
    ]


def section_order(row: Row) -> int:
    """Sort key: a section's number, the last one of a range ("1–2" sorts as 2)."""
    return int(re.findall(r"\d+", row.section)[-1])


def cors_row(results: dict[str, wrk.WrkResult]) -> Row:
    """Row 11: create-upload with CORS on (an allowed ``Origin`` sent) against off."""
    ratio = results["cors"].rps / results["plain"].rps
    return Row(
        "11",
        f"v3 create-upload, wrk c32, `ASSURED_CORS_ORIGINS` set and an allowed `Origin` sent, "
        f"{SQLITE_FILESYSTEM}, {LOAD_WORKERS} workers",
        wrk_cell(results["cors"]),
        f"the same server without CORS {wrk_cell(results['plain'])}",
        times(ratio),
        "≥ 0.97×",
        verdict(ratio >= 0.97 and results["cors"].errors == 0),
    )


def api_rows(deployment: str, results: dict[str, wrk.WrkResult]) -> list[Row]:
    """Row 5 for one deployment."""
    rows = []
    for name, label in (
        ("create", "v3 create-upload `POST /v3/accounts/{id}/files`"),
        ("download", "`GET /v3/accounts/{id}/files/{id}/download-url`"),
    ):
        result = results[name]
        ok = result.rps >= 2300 and result.p99_ms < 25 and result.errors == 0
        rows.append(
            Row(
                "5",
                f"{label}, wrk c32, {deployment}, {LOAD_WORKERS} workers",
                wrk_cell(result),
                target="≥ 2,300 req/s, p99 < 25 ms",
                result=verdict(ok),
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run everything, print the table, and return a process exit code."""
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller and shorter: about 3 minutes")
    parser.add_argument(
        "--rows",
        type=lambda text: {int(part) for part in text.split(",")},
        default=set(),
        help="only these rows, e.g. --rows 9,10,11 (default: all)",
    )
    args = parser.parse_args(argv)

    def want(*sections: int) -> bool:
        return not args.rows or bool(args.rows.intersection(sections))

    profile = QUICK if args.quick else FULL
    started = time.perf_counter()
    host = machine()
    rows: list[Row] = []
    notes: list[str] = []
    wrk_binary, wrk_note = wrk.wrk_binary()
    if wrk_binary is None:
        notes.append(f"wrk rows skipped: {wrk_note}.")
    upload_env = {"ASSURED_MAX_UPLOAD_BYTES": str(profile.size + MIB)}

    with tempfile.TemporaryDirectory(prefix="assured-bench-") as tmp:
        work = Path(tmp)
        seaweed: Seaweed | None = None
        if want(1, 2, 4, 5):
            say("starting SeaweedFS (weed mini)")
            try:
                seaweed = Seaweed.start(work / "seaweed")
            except RuntimeError as exc:
                notes.append(f"SeaweedFS rows skipped: {exc}")
        with contextlib.ExitStack() as stack:
            if seaweed is not None:
                stack.enter_context(stopping(seaweed))

            if want(1, 2):
                # Row 1 on both deployments, interleaved, the second on a server of its own.
                say(f"starting a {POSTGRES_SEAWEED} server")
                with postgres_seaweed(
                    work / "server-pg-seaweed", seaweed, "assured-uploads", upload_env
                ) as (cloud, cloud_note):
                    if cloud is None:
                        notes.append(cloud_note)
                    say(f"large uploads: {profile.size // MIB} MiB, {profile.rounds} rounds")
                    server = BenchServer.start(work / "server-sqlite", upload_env)
                    with stopping(server):
                        ceiling = CeilingProcess(work / "ceiling").start()
                        with stopping(ceiling):
                            large = large_uploads.run(
                                server,
                                ceiling,
                                seaweed,
                                work,
                                size=profile.size,
                                rounds=profile.rounds,
                                cloud=cloud,
                            )
                        rows += large_rows(large, notes)

            if want(4):
                # The load rows (4, 5) run each deployment as it is run for throughput: one worker
                # process per core (`serve --workers`), on servers of their own.
                say(f"small documents: wrk, SeaweedFS, SDK ({LOAD_WORKERS} workers)")
                server = BenchServer.start(work / "server-small", LOAD_ENV)
                with (
                    stopping(server),
                    postgres_seaweed(
                        work / "server-pg-seaweed-small", seaweed, "assured-small", LOAD_ENV
                    ) as (cloud, cloud_note),
                ):
                    if cloud is None:
                        notes.append(cloud_note)
                    small = small_docs.run(
                        server,
                        seaweed,
                        wrk_binary,
                        seconds=profile.load_seconds,
                        runs=profile.runs,
                        cloud=cloud,
                    )
                rows += small_rows(small, wrk_note)

            if want(3):
                say("pre-signing in-process")
                rows += presign_rows(presign.run(profile.runs, profile.presign_seconds))

            if wrk_binary is not None and want(3, 5, 11):
                if want(3, 5):
                    say(f"API rate on {SQLITE_FILESYSTEM}")
                    server = BenchServer.start(work / "server-rate", LOAD_ENV)
                    with stopping(server):
                        sqlite = api_rate.run(
                            wrk_binary, server, seconds=profile.load_seconds, runs=profile.runs
                        )
                    download = sqlite["download"]
                    rows.append(
                        Row(
                            "3",
                            f"`GET …/download-url` over HTTP (wrk c32, {SQLITE_FILESYSTEM}; "
                            "the figure of row 5)",
                            wrk_cell(download),
                            result="see 5",
                        )
                    )
                    rows += api_rows(SQLITE_FILESYSTEM, sqlite)
                    # A fresh server and database, as the SQLite one above is.
                    with postgres_seaweed(
                        work / "server-pg-seaweed-rate", seaweed, "assured-rate", LOAD_ENV
                    ) as (cloud, cloud_note):
                        if cloud is None:
                            notes.append(cloud_note)
                        else:
                            say(f"API rate on {POSTGRES_SEAWEED}")
                            cloud_rate = api_rate.run(
                                wrk_binary, cloud, seconds=profile.load_seconds, runs=profile.runs
                            )
                            rows += api_rows(POSTGRES_SEAWEED, cloud_rate)

                if want(11):
                    say(f"CORS on and off, v3 create-upload ({SQLITE_FILESYSTEM})")
                    plain = BenchServer.start(work / "server-cors-off", LOAD_ENV)
                    with stopping(plain):
                        cors = BenchServer.start(
                            work / "server-cors-on", {**LOAD_ENV, **cors_rate.CORS_ENV}
                        )
                        with stopping(cors):
                            rows.append(
                                cors_row(
                                    cors_rate.run(
                                        wrk_binary,
                                        plain,
                                        cors,
                                        seconds=profile.load_seconds,
                                        runs=profile.runs,
                                    )
                                )
                            )

        if want(8):
            say(f"slow clients: {slow_clients.SLOW:,} dribbling heads, four 64 MiB headers")
            rows += slow_rows(work, notes)

    if want(9, 10):
        say("the upload-link page in Chromium: a 100 MiB PDF against curl, the page's weight")
        rows += link_page_rows(profile.rounds, notes)

    if want(6):
        say("SDK: memory while uploading from a path, import time")
        rows += sdk_rows(profile.size)

    if want(7):
        say(f"/healthz during login floods ({SQLITE_FILESYSTEM}, one process)")
        with tempfile.TemporaryDirectory(prefix="assured-bench-login-") as tmp:
            server = BenchServer.start(Path(tmp) / "server-login", {})
            with stopping(server):
                flood = login_flood.run(server, seconds=profile.load_seconds, runs=profile.runs)
        rows += login_rows(flood)
    rows.sort(key=section_order)  # stable: measured order within a section

    minutes = (time.perf_counter() - started) / 60
    only = f" --rows {','.join(map(str, sorted(args.rows)))}" if args.rows else ""
    print(
        f"Profile: {profile.name} (`python -m bench{' --quick' if args.quick else ''}{only}`), "
        f"{minutes:.1f} minutes."
    )
    print(f"Machine: {host}; at the end {load_average()}.")
    print()
    print(render(rows))
    if notes:
        print()
        # Each deployment that could not start says so once, however many rows it skipped.
        for note in dict.fromkeys(notes):
            print(f"- {note}")
    return 0


def small_rows(small: dict[str, object], wrk_note: str) -> list[Row]:
    """Row 4 (the wrk rows also on PostgreSQL + SeaweedFS when that ran)."""
    rows = []
    seaweed = small["seaweed"]
    label = "100 KiB uploads, `files/handle`, wrk c16"
    if small["wrk"] is None:
        rows.append(
            Row(
                "4",
                f"{label}, {SQLITE_FILESYSTEM}",
                f"skipped: {wrk_note}",
                target="≥ 500 uploads/s",
                result="skipped",
            )
        )
    for key, deployment in (("wrk", SQLITE_FILESYSTEM), ("wrk_cloud", POSTGRES_SEAWEED)):
        result = small[key]
        if not isinstance(result, wrk.WrkResult):
            continue  # not run: a note or the row above says why
        rows.append(
            Row(
                "4",
                f"{label}, {deployment}, {LOAD_WORKERS} workers",
                wrk_cell(result, "uploads/s"),
                target="≥ 500 uploads/s",
                result=verdict(result.rps >= 500 and result.errors == 0),
            )
        )
        if isinstance(seaweed, float):
            rows.append(
                Row(
                    "4",
                    f"{label}, {deployment}, {LOAD_WORKERS} workers",
                    rate(result.rps, "uploads/s"),
                    f"SeaweedFS, boto3 `put_object` of 100 KiB, 16 threads "
                    f"{rate(seaweed, 'PUTs/s')}",
                    times(result.rps / seaweed),
                    "≥ 1× SeaweedFS",
                    verdict(result.rps >= seaweed),
                )
            )
    docs = small["sdk"]
    assert isinstance(docs, float)
    rows.append(
        Row(
            "4",
            "SDK `upload_and_associate_document` (2 requests each), asyncio c16, 100 KiB, "
            f"{SQLITE_FILESYSTEM}, {LOAD_WORKERS} workers",
            rate(docs, "documents/s"),
            target="≥ 250 documents/s",
            result=verdict(docs >= 250),
        )
    )
    return rows


def login_rows(result: login_flood.LoginFloodResult) -> list[Row]:
    """Row 7: ``/healthz`` p99 under each login flood against its idle p99 on the same server."""
    rows = []
    for name, label in login_flood.FLOODS.items():
        answers = ", ".join(
            f"{count:,}× {status or 'error'}"
            for status, count in sorted(result.statuses[name].items())
        )
        ratio = result.ratio(name)
        rows.append(
            Row(
                "7",
                f"`/healthz` p99 during a flood of {FLOOD_CLIENTS} login clients (wrong "
                f"passwords, {label}), {SQLITE_FILESYSTEM}, one process; the flood got: {answers}",
                f"p99 {result.flood_p99_ms[name]:.1f} ms",
                f"idle p99 {result.idle_p99_ms:.1f} ms (same server, same run)",
                times(ratio),
                "≤ 3× idle p99",
                verdict(ratio <= 3),
            )
        )
    return rows


def slow_rows(work: Path, notes: list[str]) -> list[Row]:
    """Row 8: the server's peak RSS under slow and oversized-header clients."""
    label = (
        f"Server peak RSS: {slow_clients.SLOW:,} slow connections dribbling their heads, "
        f"and four 64 MiB headers at once, {SQLITE_FILESYSTEM}, 1 worker"
    )
    why_not = slow_clients.enough_descriptors()
    if why_not:
        notes.append(f"Row 8 skipped: {why_not}.")
        return [Row("8", label, f"skipped: {why_not}", target="< 150 MiB", result="skipped")]
    result = slow_clients.run(work)
    ok = (
        result.peak_mib < 150
        and result.slow_open == slow_clients.SLOW
        and result.refused == slow_clients.BIG
    )
    return [
        Row(
            "8",
            label,
            f"{result.peak_mib:.0f} MiB (idle {result.idle_mib:.0f} MiB; "
            f"{result.slow_open:,} slow connections open at the end; "
            f"{result.refused} of {slow_clients.BIG} big headers answered 431 after at most "
            f"{result.sent_mib:.1f} MiB sent)",
            target=f"< 150 MiB, all {slow_clients.SLOW:,} open, all 4 refused",
            result=verdict(ok),
        )
    ]


def sdk_rows(size: int) -> list[Row]:
    """Row 6: the SDK's own figures."""
    memory = sdk.upload_memory(size)
    startup = sdk.startup_times_ms()
    return [
        Row(
            "6",
            f"SDK upload of a {size // MIB} MiB file from a path (sync client): client peak RSS",
            f"{memory['peak_rss_mib']:.0f} MiB ({memory['mb_per_s']:.0f} MB/s)",
            target="< 100 MiB",
            result=verdict(memory["peak_rss_mib"] < 100),
        ),
        Row(
            "6",
            "`from assured import AssuredClient`, CLI extra installed (median of 7, minus a bare "
            "`python -c pass`)",
            f"{startup['import_client']:.0f} ms",
            target="< 150 ms",
            result=verdict(startup["import_client"] < 150),
        ),
        Row(
            "6",
            "`from assured import AssuredClient`, a client made and its connection pool opened "
            "(what a first request needs; the import defers both), median of 7, minus a bare "
            "`python -c pass`",
            f"{startup['client_ready']:.0f} ms",
            target="—",
            result="reference",
        ),
        Row(
            "6",
            "`assured --help`, CLI extra installed (median of 7, minus a bare `python -c pass`)",
            f"{startup['cli_help']:.0f} ms",
            target="< 300 ms",
            result=verdict(startup["cli_help"] < 300),
        ),
    ]


def link_page_rows(rounds: int, notes: list[str]) -> list[Row]:
    """Rows 9 and 10 on a server of their own (skipped with a note without Chromium)."""
    note = link_page.chromium_note()
    if note is not None:
        notes.append(note)
        return []
    with tempfile.TemporaryDirectory(prefix="assured-bench-link-") as tmp:
        env = {"ASSURED_MAX_UPLOAD_BYTES": str(link_page.SIZE + MIB)}
        server = BenchServer.start(Path(tmp) / "server-link", env)
        with stopping(server):
            return link_rows(link_page.run(server, Path(tmp), rounds=rounds))


def link_rows(result: link_page.LinkPageResult) -> list[Row]:
    """Rows 9 and 10: a large file through the link page in Chromium; the page's weight."""
    size_mib = link_page.SIZE // MIB
    ratio = result.mb_per_s("browser") / result.mb_per_s("curl")
    total = sum(result.page_bytes.values())
    parts = ", ".join(f"{name} {size:,} B" for name, size in result.page_bytes.items())
    return [
        Row(
            "9",
            f"{size_mib} MiB PDF through the upload-link page in Chromium (choose the file, "
            f"until the page says Available), {SQLITE_FILESYSTEM}",
            rate(result.mb_per_s("browser"), "MB/s"),
            f"curl through the same link (create, form to the same `uploadUrl`, status) "
            f"{rate(result.mb_per_s('curl'), 'MB/s')}",
            times(ratio),
            "≥ 0.8× curl",
            verdict(ratio >= 0.8),
        ),
        Row(
            "10",
            "The upload-link page's own weight (HTML + JS + CSS, uncompressed) and requests to "
            "other origins while it loads and uploads",
            f"{total:,} B ({parts}); {len(result.third_party)} third-party requests",
            target="≤ 60 KB, 0 third-party requests",
            result=verdict(total <= 60_000 and not result.third_party),
        ),
    ]


if __name__ == "__main__":
    sys.exit(main())
