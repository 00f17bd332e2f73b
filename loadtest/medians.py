"""Medians (and spread) of every benchmark figure from the JSON reports bench.sh wrote."""
import glob
import json
import os
import re
import statistics
import sys

KEYS = ["delivered_per_sec", "server_cpu_us_per_delivery", "server_core_busy", "p50_ms", "p99_ms", "p999_ms",
        "rss_bytes_per_conn", "handshakes_per_sec", "knee_per_sec", "generator_core_busy"]


def main(out):
    runs = {}
    for path in sorted(glob.glob(os.path.join(out, "*.json"))):
        # <name>-<run>.json; the run number is what tells "cluster-3" from "cluster-c20-3".
        found = re.fullmatch(r"(.+)-(\d+)\.json", os.path.basename(path))
        if found:
            runs.setdefault(found.group(1), []).append(path)
    for name in sorted(runs):
        reports = [json.load(open(p)) for p in runs[name]]
        print(f"{name} ({len(reports)} runs)")
        for key in KEYS:
            values = [r[key] for r in reports if r.get(key) is not None]
            if not values:
                continue
            print(f"  {key:28} median {statistics.median(values):14.4f}   min {min(values):14.4f}   max {max(values):14.4f}")
        saturated = sum(1 for r in reports if r.get("generator_saturated"))
        if saturated:
            print(f"  generator saturated in {saturated} of {len(reports)} runs")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/bench")
