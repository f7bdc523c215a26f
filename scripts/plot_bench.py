"""Plots `carelog bench` JSON summaries: events/s and p99 against concurrency, Carelog vs raw PostgreSQL."""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

*inputs, output = sys.argv[1:]
runs = sorted((json.load(open(path)) for path in inputs), key=lambda r: r["concurrency"])
concurrency = [r["concurrency"] for r in runs]
fig, (throughput, latency) = plt.subplots(1, 2, figsize=(11, 4.2))
throughput.plot(concurrency, [r["events_per_sec"] for r in runs], "o-", label="Carelog over gRPC (events/s)")
throughput.plot(concurrency, [r["baseline"]["raw_single_row_inserts_per_sec"] for r in runs], "s--",
                label="raw PostgreSQL INSERT (rows/s)")
throughput.set(xscale="log", xlabel="concurrent callers", ylabel="per second", title="Durable writes")
throughput.set_xticks(concurrency, [str(c) for c in concurrency])
throughput.legend()
latency.plot(concurrency, [r["latency_ms"]["p99"] for r in runs], "o-", label="Carelog p99")
latency.plot(concurrency, [r["latency_ms"]["p50"] for r in runs], "o:", label="Carelog p50")
latency.set(xscale="log", xlabel="concurrent callers", ylabel="ms", title="Command latency")
latency.set_xticks(concurrency, [str(c) for c in concurrency])
latency.legend()
fig.suptitle(f"carelog bench --mix {runs[0]['mix']} (ratios in the JSON files)")
fig.tight_layout()
fig.savefig(output, dpi=110)
print(f"wrote {output}")
