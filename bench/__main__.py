"""``python -m bench [--quick]``: run the benchmarks and print one markdown table."""

from __future__ import annotations

import argparse
import platform
import sys

import psutil

from bench import direct_upload, proxied_upload, sdk

GIB = 1 << 30


def main(argv: list[str] | None = None) -> int:
    """Run, print the table, and return a process exit code."""
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under 3 minutes")
    args = parser.parse_args(argv)
    size = GIB // 4 if args.quick else GIB
    rows: list[tuple[str, str, str]] = []

    for label, module in (
        ("Proxied upload, {} MiB through /api/v1/files/handle/", proxied_upload),
        ("Direct upload, {} MiB to /storage (pre-signed form)", direct_upload),
    ):
        result = module.run(size)
        rows.append(
            (
                label.format(size // (1 << 20)),
                f"{result['mb_per_s']:.0f} MB/s, server peak RSS {result['peak_rss_mib']:.0f} MiB "
                f"(idle {result['baseline_rss_mib']:.0f} MiB)",
                "peak RSS < 100 MiB: " + ("met" if result["peak_rss_mib"] < 100 else "MISSED"),
            )
        )

    result = sdk.upload_memory(size)
    rows.append(
        (
            f"SDK upload of a {size // (1 << 20)} MiB file from a path (sync client)",
            f"SDK process peak RSS {result['peak_rss_mib']:.0f} MiB, {result['mb_per_s']:.0f} MB/s",
            "peak RSS < 100 MiB: " + ("met" if result["peak_rss_mib"] < 100 else "MISSED"),
        )
    )
    import_ms = sdk.import_time_ms()
    rows.append(
        (
            "`import assured` (median of 7, minus a bare interpreter start)",
            f"{import_ms:.0f} ms",
            "< 150 ms: " + ("met" if import_ms < 150 else "MISSED"),
        )
    )

    print(
        f"Machine: {platform.platform()}, {psutil.cpu_count()} CPUs, "
        f"{psutil.virtual_memory().total / GIB:.0f} GiB, Python {platform.python_version()}"
    )
    print()
    print("| benchmark | result | target |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
