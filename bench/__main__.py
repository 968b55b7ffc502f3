"""python -m bench [--quick] [--n N]: build a cluster, run the scenarios, print a table, write JSON."""

from __future__ import annotations

import argparse
import json
import shutil
import time
import traceback
from pathlib import Path

from bench import console, scenarios, serving
from bench.cluster import build
from bench.stats import machine

RESULTS = Path(__file__).resolve().parent / "results"

TARGETS = {
    "render_inprocess": "p50 <= 0.2 ms, p99 <= 1 ms",
    "storm_256": ">= 3000 kickstarts/s, p99 <= 100 ms, 0 failed",
    "storm_1000": "0 refused installers",
    "efficiency": ">= 0.5 of a static body of the same size",
    "bulk_add": "N = 10,000 in <= 10 s",
    "mutation": "<= 20 ms, flat in N",
    "cold_start": "<= 1 s to the first kickstart",
    "global_attr_change": "first kickstart after `rocks set attr` <= 100 ms; worker <= 100 MB",
    "rocks_dist": "<= 3 s (stock graph + example site profiles, pykickstart validation included)",
    "partition_reports": ">= 1,000 reports/s, 0 lost",
    "library_is_stale": "cheap enough to run every reload_interval (was a test asserting < 10 ms)",
    "console_pages": "every console/API page p99 <= 200 ms at N = 10,000",
    "install_files": ">= 0.8 of nginx on 300 KB and 200 MB files (32 clients)",
    "downloads_vs_ks": "kickstart p99 <= 50 ms, 0 failures, with 32 + 8 (25 MB/s) downloads",
    "slow_clients": "storm p99 <= 1 s and >= 0.8 of its throughput with 200 trickling connections",
    "ks_vs_nginx": ">= 0.5 of nginx serving the same bytes",
    "cli_process": "rocks list host (one, and all N) / rocks add host as processes <= 120 ms wall",
    "storm_scale_out": "the storm through nginx and through HAProxy over two instances of one worker: 0 failed",
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--quick", action="store_true", help="small N and short runs (under a minute)")
    parser.add_argument("--n", type=int, help="hosts in the cluster (default 10000; 2000 with --quick)")
    parser.add_argument("--only", help="comma-separated scenario names")
    parser.add_argument("--server", default="uvloop", choices=("uvloop", "granian", "gunicorn"),
                        help="ksserver's HTTP server in the serving scenarios (default uvloop)")
    args = parser.parse_args()
    n = args.n or (2000 if args.quick else 10000)
    duration = 4.0 if args.quick else 15.0
    samples = 2000 if args.quick else 10000
    only = set(args.only.split(",")) if args.only else None
    t0 = time.perf_counter()
    cluster = build(n)
    results: list[dict] = []

    def record(name: str, fn, **extra) -> dict:  # type: ignore[no-untyped-def]
        if only and name not in only:
            return {}
        try:
            figures = fn()
        except Exception as exc:  # a broken scenario is reported, the others still run
            traceback.print_exc()
            figures = {"error": f"{type(exc).__name__}: {exc}"}
        row = {"scenario": name, "n": n, "target": TARGETS.get(name, ""), **extra, **figures}
        results.append(row)
        print(_line(row), flush=True)
        return figures

    try:
        render = record("render_inprocess", lambda: scenarios.render_inprocess(cluster, samples))
        storm = record("storm_256", lambda: scenarios.storm(cluster, 256, duration))
        record("storm_1000", lambda: scenarios.storm(cluster, 1000, duration))
        size = int(render.get("kickstart_bytes", 32768)) if render else 32768

        def efficiency() -> dict:
            base = scenarios.static_baseline(size, 256, duration)
            ratio = storm.get("throughput_rps", 0) / base["throughput_rps"] if base["throughput_rps"] else 0
            return {"ratio": round(ratio, 3), "static_rps": base["throughput_rps"],
                    "static_p50_ms": base["p50_ms"], "static_p99_ms": base["p99_ms"],
                    "throughput_rps": storm.get("throughput_rps"), "body_bytes": size}

        record("efficiency", efficiency)
        record("bulk_add", lambda: scenarios.bulk_add(n))
        record("mutation", lambda: scenarios.mutation(cluster, 200))
        record("cold_start", lambda: scenarios.cold_start(cluster))
        record("global_attr_change", lambda: scenarios.global_attr_change(cluster))
        record("rocks_dist", lambda: scenarios.rocks_dist(cluster))
        record("partition_reports", lambda: scenarios.partition_reports(cluster, 256, duration))
        record("library_is_stale", lambda: scenarios.library_is_stale())
        record("console_pages", lambda: console.console_pages(cluster))
        record("install_files", lambda: serving.install_files(cluster, duration), server=args.server)
        record("downloads_vs_ks", lambda: serving.downloads_vs_kickstarts(cluster, duration, args.server),
               server=args.server)
        record("slow_clients", lambda: serving.slow_clients(cluster, duration, args.server), server=args.server)
        record("ks_vs_nginx", lambda: serving.kickstart_vs_nginx(cluster, duration, args.server),
               server=args.server)
        record("storm_scale_out", lambda: serving.storm_scale_out(cluster, duration))
        record("cli_process", lambda: serving.cli_process(cluster))
    finally:
        shutil.rmtree(cluster.root, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    payload = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "quick": args.quick, "n": n,
               "machine": machine(), "seconds": round(time.perf_counter() - t0, 1), "results": results}
    (RESULTS / "latest.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {RESULTS / 'latest.json'} ({payload['seconds']} s)")


def _line(row: dict) -> str:
    keys = ("median_ms", "worker_rss_mb", "p50_ms", "p99_ms", "throughput_rps", "errors", "lost", "ratio", "static_p99_ms",
            "seconds", "cpu_seconds", "error")
    figures = "  ".join(f"{k}={row[k]}" for k in keys if k in row)
    return f"{row['scenario']:<18} N={row['n']:<6} {figures}   [target: {row['target']}]"


if __name__ == "__main__":
    main()
