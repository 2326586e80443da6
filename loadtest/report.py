"""Turns the harness's rows into results.md (medians, headline, targets) and latency.svg."""

import math
import os
import statistics

COLUMNS = [
    "scenario", "target", "profile", "c", "rate", "stream", "duration_s", "wall_s",
    "ok", "errors", "rps", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "cpu_us_per_req", "rss_peak_mib",
    "ttft_p50_ms", "ttft_p99_ms", "gap_p50_ms", "gap_p99_ms", "gap_max_ms", "stalls", "error_kinds",
]
METRICS = ["rps", "p50_ms", "p90_ms", "p99_ms", "cpu_us_per_req", "rss_peak_mib",
           "ttft_p50_ms", "ttft_p99_ms", "gap_p50_ms", "gap_p99_ms", "gap_max_ms"]
GOVERNED = "switchyard-governed"
COLORS = {
    "direct": "#888888", "pingora": "#1f77b4", "nginx": "#2ca02c", "switchyard": "#ff7f0e",
    "switchyard-governed": "#d62728", "switchyard-governed-pg": "#9467bd", "litellm": "#8c564b",
}


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def medians(rows):
    """{(scenario, target, profile, c, rate): {metric: median, "errors": sum, "runs": n}}."""
    groups = {}
    for r in rows:
        key = (r["scenario"], r["target"], r["profile"], int(r["c"]), str(r["rate"]))
        groups.setdefault(key, []).append(r)
    out = {}
    for key, rs in groups.items():
        m = {"runs": len(rs), "errors": sum(int(r["errors"]) for r in rs if int(r["errors"]) > 0),
             "failed_runs": sum(1 for r in rs if int(r["errors"]) < 0),
             "stalls": sum(int(r.get("stalls") or 0) for r in rs)}
        for metric in METRICS:
            vals = [num(r.get(metric)) for r in rs]
            vals = [v for v in vals if v is not None]
            m[metric] = statistics.median(vals) if vals else None
        out[key] = m
    return out


def fmt(v, digits=2, unit=""):
    if v is None:
        return "–"
    if abs(v) >= 1000:
        return f"{v:,.0f}{unit}"
    return f"{v:.{digits}f}{unit}"


def added(med, scenario, target, profile, c, rate, metric):
    a = med.get((scenario, target, profile, c, rate), {}).get(metric)
    b = med.get((scenario, "direct", profile, c, rate), {}).get(metric)
    return None if a is None or b is None else a - b


def targets_in(rows):
    seen = []
    for r in rows:
        if r["target"] not in seen:
            seen.append(r["target"])
    return seen


def headline(med, names, meta):
    head = ("| target | added p50, c=1 | added p99, c=1 | CPU µs/request, c=64 | req/s, c=64 "
            "| CPU µs/stream, c=64 | idle RSS | peak RSS | p99, 1000 in flight, 200 ms upstream "
            "| 1000 streams: added gap p99 | stalls |")
    lines = [head, "|" + "---|" * 11]
    for n in names:
        g = lambda s, p, c, metric, rate="": med.get((s, n, p, c, rate), {}).get(metric)  # noqa: E731
        chat64 = med.get(("chat", n, "m0", 64, ""), {})
        errs = chat64.get("errors")
        rps = fmt(g("chat", "m0", 64, "rps"), 0) + (f" ({errs} errors)" if errs else "")
        lines.append("| " + " | ".join([
            n,
            "–" if n == "direct" else fmt(added(med, "chat", n, "m0", 1, "", "p50_ms"), 3, " ms"),
            "–" if n == "direct" else fmt(added(med, "chat", n, "m0", 1, "", "p99_ms"), 3, " ms"),
            fmt(g("chat", "m0", 64, "cpu_us_per_req"), 0),
            rps,
            fmt(g("stream", "m0", 64, "cpu_us_per_req"), 0),
            fmt(meta.get("idle_rss_mib", {}).get(n), 1, " MiB"),
            fmt(meta.get("peak_rss_mib", {}).get(n), 1, " MiB"),
            fmt(g("inflight", "m200", 1000, "p99_ms"), 1, " ms"),
            "–" if n == "direct" else fmt(added(med, "streams", n, "s64", 1000, "", "gap_p99_ms"), 2, " ms"),
            str(med.get(("streams", n, "s64", 1000, ""), {}).get("stalls", "–")),
        ]) + " |")
    return "\n".join(lines)


def check(label, value, bound, ok, how):
    if value is None:
        verdict = "–"
    elif ok is None:
        verdict = "reported"
    else:
        verdict = "met" if ok(value) else "missed"
    return f"| {label} | {fmt(value, 2)} | {bound} | {verdict} | {how} |"


def targets_table(med, meta):
    """The issue's targets for the governed gateway, as ratios from this run."""
    G, P, N = GOVERNED, "pingora", "nginx"

    def ratio(a, b):
        return None if a is None or b in (None, 0) else a / b

    def get(s, n, p, c, metric, rate=""):
        return med.get((s, n, p, c, rate), {}).get(metric)

    rows = ["| target | measured | bound | verdict | how |", "|---|---|---|---|---|"]
    rows.append(check("added p50, c=1: governed / bare Pingora",
                      ratio(added(med, "chat", G, "m0", 1, "", "p50_ms"), added(med, "chat", P, "m0", 1, "", "p50_ms")),
                      "≤ 1.25", lambda v: v <= 1.25, "chat, zero-delay mock"))
    rows.append(check("added p99, c=1: governed / bare Pingora",
                      ratio(added(med, "chat", G, "m0", 1, "", "p99_ms"), added(med, "chat", P, "m0", 1, "", "p99_ms")),
                      "≤ 1.25", lambda v: v <= 1.25, "chat, zero-delay mock"))
    rows.append(check("CPU µs/request, c=64: governed / bare Pingora",
                      ratio(get("chat", G, "m0", 64, "cpu_us_per_req"), get("chat", P, "m0", 64, "cpu_us_per_req")),
                      "≤ 1.0", lambda v: v <= 1.0, "gateway process CPU time / completed requests"))
    rows.append(check("CPU µs/request, c=64: governed / nginx",
                      ratio(get("chat", G, "m0", 64, "cpu_us_per_req"), get("chat", N, "m0", 64, "cpu_us_per_req")),
                      "–", None, "nginx master + workers"))
    rows.append(check("req/s, c=64: governed / bare Pingora",
                      ratio(get("chat", G, "m0", 64, "rps"), get("chat", P, "m0", 64, "rps")),
                      "≥ 0.9", lambda v: v >= 0.9, "closed loop, zero errors required"))
    rows.append(check("CPU µs/stream (24 events), c=64: governed / bare Pingora",
                      ratio(get("stream", G, "m0", 64, "cpu_us_per_req"), get("stream", P, "m0", 64, "cpu_us_per_req")),
                      "≤ 1.0", lambda v: v <= 1.0, "OpenAI stream, usage chunk on"))
    rows.append(check("CPU µs/stream: OpenAI client → Anthropic upstream / same protocol",
                      ratio(get("anthropic", G, "anthropic", 64, "cpu_us_per_req"),
                            get("anthropic", G, "m0", 64, "cpu_us_per_req")),
                      "≤ 1.15", lambda v: v <= 1.15, "governed, c=64"))
    rows.append(check("p99, 1000 in flight, 200 ms upstream: governed / nginx",
                      ratio(get("inflight", G, "m200", 1000, "p99_ms"), get("inflight", N, "m200", 1000, "p99_ms")),
                      "≤ 1.1", lambda v: v <= 1.1, "closed loop, c=1000"))
    rows.append(check("idle RSS (MiB)", meta.get("idle_rss_mib", {}).get(G), "≤ 30",
                      lambda v: v <= 30, "after warm-up"))
    rows.append(check("RSS holding 1000 in flight (MiB)", get("inflight", G, "m200", 1000, "rss_peak_mib"),
                      "≤ 120", lambda v: v <= 120, "peak VmRSS sampled during the run"))
    st = med.get(("streams", G, "s64", 1000, ""), {})
    rows.append(check("1000 concurrent streams: stalls (gap > 250 ms) and unfinished streams",
                      None if not st else float(st.get("stalls", 0) + st.get("errors", 0)), "0",
                      lambda v: v == 0, "64 events, 20 ms apart"))
    rows.append(check("1000 concurrent streams: added inter-event gap p99 (ms)",
                      added(med, "streams", G, "s64", 1000, "", "gap_p99_ms"), "≤ 1",
                      lambda v: v <= 1, "over the direct stream's p99"))
    soak = meta.get("soak")
    if soak and soak.get("samples"):
        s = soak["samples"]
        settled = s[min(len(s) - 1, 6)][1]  # after a minute: pools, buffers and caches are warm
        late = [v for t_, v in s if t_ >= s[-1][0] / 2]
        growth = s[-1][1] - settled
        rows.append(check(f"soak {soak['seconds']} s at {soak['rate']} req/s: RSS growth after the first minute (MiB)",
                          growth, "≤ 2", lambda v: v <= 2,
                          f"{settled} MiB at 60 s, {min(late)}–{max(late)} MiB in the second half, "
                          f"{s[-1][1]} MiB at the end; {soak['ok']:,} requests, {soak['non200']} non-200"))
    return "\n".join(rows)


def scenario_table(med, scenario, names, stream_cols=False):
    keys = sorted({k for k in med if k[0] == scenario},
                  key=lambda k: (k[2], k[3], k[4], names.index(k[1]) if k[1] in names else 99))
    if not keys:
        return ""
    if stream_cols:
        head = ["target", "profile", "c", "streams/s", "TTFT p50", "TTFT p99", "gap p50", "gap p99",
                "gap max", "added gap p99", "stalls", "errors", "CPU µs/stream", "peak RSS"]
    else:
        head = ["target", "profile", "c", "rate", "req/s", "p50", "p99", "added p50", "added p99",
                "CPU µs/req", "peak RSS", "errors"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k in keys:
        m = med[k]
        _, n, p, c, rate = k
        if stream_cols:
            cells = [n, p, str(c), fmt(m["rps"], 0), fmt(m["ttft_p50_ms"]), fmt(m["ttft_p99_ms"]),
                     fmt(m["gap_p50_ms"]), fmt(m["gap_p99_ms"]), fmt(m["gap_max_ms"]),
                     fmt(added(med, scenario, n, p, c, rate, "gap_p99_ms")), str(m["stalls"]),
                     str(m["errors"]), fmt(m["cpu_us_per_req"], 0), fmt(m["rss_peak_mib"], 1)]
        else:
            cells = [n, p, str(c), rate or "closed", fmt(m["rps"], 0), fmt(m["p50_ms"], 3), fmt(m["p99_ms"], 3),
                     fmt(added(med, scenario, n, p, c, rate, "p50_ms"), 3),
                     fmt(added(med, scenario, n, p, c, rate, "p99_ms"), 3),
                     fmt(m["cpu_us_per_req"], 0), fmt(m["rss_peak_mib"], 1),
                     str(m["errors"]) + (f" ({m['failed_runs']} runs failed)" if m["failed_runs"] else "")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def svg(med, names):
    """p50 and p99 against concurrency (chat, zero-delay mock), log-log, one line per target."""
    cs = sorted({k[3] for k in med if k[0] == "chat"})
    if not cs:
        return ""
    W, H, L, R, T, B = 460, 340, 60, 15, 30, 45
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * W}" height="{H + 24 * 2}" '
           f'font-family="sans-serif" font-size="11">', '<rect width="100%" height="100%" fill="white"/>']
    for panel, metric in enumerate(("p50_ms", "p99_ms")):
        vals = [med[k][metric] for k in med if k[0] == "chat" and med[k][metric]]
        lo = 10 ** math.floor(math.log10(max(min(vals), 1e-3)))
        hi = 10 ** math.ceil(math.log10(max(vals)))
        x0 = panel * W
        xs = lambda i: x0 + L + (W - L - R) * (i / max(1, len(cs) - 1))  # noqa: E731
        ys = lambda v: T + (H - T - B) * (1 - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)))  # noqa: E731
        out.append(f'<text x="{x0 + W / 2}" y="18" text-anchor="middle" font-size="13">'
                   f'{metric[:3]} latency (ms, log) vs concurrency — chat, zero-delay mock</text>')
        d = lo
        while d <= hi * 1.0001:
            y = ys(d)
            out.append(f'<line x1="{x0 + L}" x2="{x0 + W - R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
            out.append(f'<text x="{x0 + L - 5}" y="{y + 4:.1f}" text-anchor="end">{d:g}</text>')
            d *= 10
        for i, c in enumerate(cs):
            out.append(f'<text x="{xs(i):.1f}" y="{H - B + 16}" text-anchor="middle">c={c}</text>')
        for n in names:
            pts = [(xs(i), ys(med[("chat", n, "m0", c, "")][metric])) for i, c in enumerate(cs)
                   if med.get(("chat", n, "m0", c, ""), {}).get(metric)]
            if pts:
                color = COLORS.get(n, "#000")
                out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="'
                           + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + '"/>')
                out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>' for x, y in pts]
    for i, n in enumerate(names):
        x = 20 + (i % 7) * 130
        y = H + 12 + (i // 7) * 16
        out.append(f'<rect x="{x}" y="{y - 9}" width="12" height="10" fill="{COLORS.get(n, "#000")}"/>'
                   f'<text x="{x + 16}" y="{y}">{n}</text>')
    out.append("</svg>")
    return "\n".join(out)


def write(out_dir, rows, meta):
    med = medians(rows)
    names = targets_in(rows)
    v = meta.get("versions", {})
    parts = [
        f"# Load test, {meta.get('date')}\n",
        f"Machine: {meta.get('machine')}. Commit `{meta.get('commit')}`. Tools: {v.get('oha', '?')}, "
        f"nginx {v.get('nginx', '?')}, LiteLLM {v.get('litellm', 'not run')}, Pingora 0.9 (stock `ProxyHttp`, "
        f"`examples/pingora_passthrough.rs`). Gateway workers: {meta.get('workers')}. "
        f"Medians of {meta.get('reps')} repetitions of {meta.get('duration_s')} s runs, targets interleaved. "
        f"Load generator, mocks and targets share the machine's cores.\n",
        f"Command: `{meta.get('command')}`\n",
        "## Headline\n", headline(med, names, meta) + "\n",
        "## Targets (switchyard-governed)\n", targets_table(med, meta) + "\n",
        "![latency vs concurrency](latency.svg)\n",
        "## Chat, zero-delay mock, closed loop\n", scenario_table(med, "chat", names) + "\n",
        "## Streams (24 events), zero-delay mock\n", scenario_table(med, "stream", names) + "\n",
        "## Open loop at fixed rates, 20 ms upstream\n", scenario_table(med, "rate", names) + "\n",
        "## 1000 requests in flight, 200 ms upstream\n", scenario_table(med, "inflight", names) + "\n",
        "## 1000 concurrent streams, 64 events 20 ms apart\n",
        scenario_table(med, "streams", names, stream_cols=True) + "\n",
        "## OpenAI client, Anthropic upstream vs OpenAI upstream (streams, c=64)\n",
        scenario_table(med, "anthropic", names) + "\n",
    ]
    soak = meta.get("soak")
    if soak:
        parts += [f"## Soak: {soak['seconds']} s at {soak['rate']} req/s on {soak['target']}\n",
                  "RSS (MiB) every 10 s: " + ", ".join(f"{s}s {v}" for s, v in soak["samples"]) + "\n"]
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write("\n".join(p for p in parts if p.strip()))
    plot = svg(med, names)
    if plot:
        with open(os.path.join(out_dir, "latency.svg"), "w") as f:
            f.write(plot)


if __name__ == "__main__":
    import csv
    import json
    import sys

    folder = sys.argv[1]
    with open(os.path.join(folder, "results.csv")) as f:
        data = list(csv.DictReader(f))
    with open(os.path.join(folder, "meta.json")) as f:
        write(folder, data, json.load(f))
