#!/usr/bin/env python3
"""harness.py: Switchyard side by side with the mock itself, a bare Pingora hop, nginx and LiteLLM.

One command (see loadtest/README.md):

    loadtest/harness.py                       # the full run: about 30 minutes on 2 cores
    loadtest/harness.py --quick               # a 2-minute smoke run of every scenario
    loadtest/harness.py --soak 600            # adds a 10-minute soak of the governed gateway

It builds the release binaries, starts one mock upstream per profile, starts every target in
front of them, then runs each scenario's load against each target, targets interleaved within
every repetition (the order rotates between repetitions). Results go to
loadtest/results/<date>/: results.csv (one row per run), results.md (medians, the headline table,
the targets) and latency.svg (p50/p99 against concurrency per target).
"""

import argparse
import csv
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import report  # noqa: E402
import targets as t  # noqa: E402

LITELLM_VERSION = os.environ.get("LITELLM_VERSION", "1.109.1")
OHA_VERSION = "1.14.0"
ABORTED = "aborted due to deadline"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(argv, **kw):
    return subprocess.run(argv, check=True, **kw)


# ---- tools ----------------------------------------------------------------------------------------

def ensure_tools(args):
    if not shutil.which("oha"):
        log(f"oha not found: installing it with `cargo install oha --locked --version {OHA_VERSION}`")
        run(["cargo", "install", "oha", "--locked", "--version", OHA_VERSION])
    if "nginx" in args.targets and not (shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")):
        if os.geteuid() == 0 and shutil.which("apt-get"):
            log("nginx not found: installing Debian's nginx-light")
            run(["apt-get", "install", "-y", "nginx-light"])
        else:
            sys.exit("harness: nginx is not installed; run: sudo apt-get install -y nginx-light")
    if "litellm" in args.targets and not os.path.exists(os.path.join(args.litellm_venv, "bin", "litellm")):
        if args.no_install:
            log(f"LiteLLM is not installed in {args.litellm_venv}; skipping it "
                f"(install with: loadtest/install-litellm.sh)")
            args.targets.remove("litellm")
        else:
            log(f"installing LiteLLM {LITELLM_VERSION} with loadtest/install-litellm.sh")
            run([os.path.join(HERE, "install-litellm.sh")],
                env=dict(os.environ, LITELLM_VERSION=LITELLM_VERSION, LITELLM_VENV=args.litellm_venv))
    # 1000 connections through a proxy need two descriptors each, plus the load generator's.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))


def build(args):
    target_dir = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    rel = os.path.join(target_dir, "release")
    if not args.skip_build:
        log("building release binaries (fat LTO: several minutes the first time)")
        run(["cargo", "build", "--release", "--bin", "switchyard", "--bin", "switchyard-mock",
             "--example", "pingora_passthrough", "--example", "stream_probe"], cwd=ROOT)
    bins = {
        "switchyard": os.path.join(rel, "switchyard"),
        "mock": os.path.join(rel, "switchyard-mock"),
        "pingora": os.path.join(rel, "examples", "pingora_passthrough"),
        "probe": os.path.join(rel, "examples", "stream_probe"),
    }
    for name, path in bins.items():
        if not os.access(path, os.X_OK):
            sys.exit(f"harness: {name} binary not found at {path} (drop --skip-build)")
    return bins


# ---- load -----------------------------------------------------------------------------------------

def write_body(workdir, profile, stream):
    with open(os.path.join(HERE, "body-chat.json")) as f:
        body = json.load(f)
    body["model"] = f"bench-{profile}"
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    path = os.path.join(workdir, f"body-{profile}-{'stream' if stream else 'chat'}.json")
    with open(path, "w") as f:
        json.dump(body, f)
    return path


class RssSampler(threading.Thread):
    """The highest resident set of `pids` seen while a run lasts (sampled every 200 ms)."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids, self.peak, self.done = pids, 0.0, threading.Event()

    def run(self):
        while not self.done.wait(0.2):
            self.peak = max(self.peak, t.memory_mib(self.pids, "VmRSS"))

    def stop(self):
        self.done.set()
        self.join()
        self.peak = max(self.peak, t.memory_mib(self.pids, "VmRSS"))
        return self.peak


def oha_argv(url, key, body, c, duration, rate=None):
    """oha posting `body` to `url` for `duration` s from `c` connections, JSON on stdout."""
    argv = ["oha", "-z", f"{duration}s", "-c", str(c), "--no-tui", "--output-format", "json",
            "-m", "POST", "-T", "application/json", "-D", body]
    if key:
        argv += ["-H", f"authorization: Bearer {key}"]
    if rate:
        argv += ["-q", str(rate), "--latency-correction"]
    return argv + [url]


def oha(url, key, body, c, duration, rate=None):
    out = subprocess.run(oha_argv(url, key, body, c, duration, rate),
                         capture_output=True, text=True, timeout=duration + 120)
    if out.returncode != 0:
        raise RuntimeError(f"oha failed: {out.stderr.strip()[:500]}")
    j = json.loads(out.stdout)
    codes = {int(k): v for k, v in (j.get("statusCodeDistribution") or {}).items()}
    errors = {k: v for k, v in (j.get("errorDistribution") or {}).items() if k != ABORTED}
    ok = codes.get(200, 0)
    pct = j.get("latencyPercentiles") or {}
    ms = lambda k: None if pct.get(k) is None else pct[k] * 1000  # noqa: E731
    return {
        "ok": ok,
        "errors": sum(v for k, v in codes.items() if k != 200) + sum(errors.values()),
        "error_kinds": "; ".join(f"{k}: {v}" for k, v in list(errors.items())[:3]),
        "rps": ok / duration,
        "p50_ms": ms("p50"), "p90_ms": ms("p90"), "p99_ms": ms("p99"), "p999_ms": ms("p99.9"),
    }


def probe(bins, url, key, model, c, duration):
    argv = [bins["probe"], "--url", url, "--key", key, "--model", model, "--concurrency", str(c),
            "--duration-secs", str(duration), "--body", os.path.join(HERE, "body-chat.json")]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 180)
    if out.returncode != 0:
        raise RuntimeError(f"stream_probe failed: {out.stderr.strip()[:500]}")
    j = json.loads(out.stdout)
    g, f = j.get("gap_ms") or {}, j.get("ttft_ms") or {}
    return {
        "ok": j["streams"] - j["errors"] - j["incomplete"],
        "errors": j["errors"] + j["incomplete"],
        "error_kinds": j.get("first_error") or "",
        "rps": (j["streams"] - j["errors"]) / duration,
        "stalls": j["stalls"],
        "ttft_p50_ms": f.get("p50"), "ttft_p99_ms": f.get("p99"),
        "gap_p50_ms": g.get("p50"), "gap_p99_ms": g.get("p99"), "gap_max_ms": g.get("max"),
    }


def one_run(ctx, scenario, target, profile, c, duration, rate=None, stream=False, tool="oha"):
    pids = target.pids(profile)
    sampler = RssSampler(pids)
    sampler.start()
    cpu0 = t.cpu_seconds(pids)
    started = time.monotonic()
    try:
        if tool == "probe":
            res = probe(ctx["bins"], target.url(profile), target.key, f"bench-{profile}", c, duration)
        else:
            body = ctx["bodies"][(profile, stream)]
            res = oha(target.url(profile), target.key, body, c, duration, rate)
    except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError, KeyError) as e:
        res = {"ok": 0, "errors": -1, "error_kinds": str(e)[:300], "rps": 0}
    cpu = t.cpu_seconds(pids) - cpu0
    row = {
        "scenario": scenario, "target": target.name, "profile": profile, "c": c,
        "rate": rate or "", "stream": int(stream), "duration_s": duration,
        "wall_s": round(time.monotonic() - started, 2),
        "cpu_us_per_req": round(cpu * 1e6 / res["ok"], 1) if res["ok"] else "",
        "rss_peak_mib": round(sampler.stop(), 1),
        **res,
    }
    for k, v in list(row.items()):
        if isinstance(v, float):
            row[k] = round(v, 3)
    ctx["rows"].append(row)
    ctx["writer"].writerow(row)
    ctx["csv"].flush()
    shown = {k: row.get(k) for k in ("p50_ms", "p99_ms", "rps", "cpu_us_per_req", "errors", "gap_p99_ms", "stalls")
             if row.get(k) not in (None, "")}
    log(f"{scenario:9} {target.name:22} {profile:9} c={c:<5} {'q=' + str(rate) if rate else '':7} {shown}")


def rotate(items, rep):
    k = rep % len(items)
    return items[k:] + items[:k]


def scenarios(args):
    """(name, [runs per repetition as (profile, c, rate, stream, tool, duration, only_targets)])."""
    d = args.duration
    out = {
        "chat": [("m0", c, None, False, "oha", d, None) for c in args.concurrency],
        "stream": [("m0", c, None, True, "oha", d, None) for c in (1, 64)],
        "rate": [("m20", 512, r, False, "oha", d, None) for r in args.rates],
        "inflight": [("m200", 1000, None, False, "oha", max(d, 10), None)],
        "streams": [("s64", 1000, None, True, "probe", max(d, 10), None)],
        "anthropic": [(p, 64, None, True, "oha", d, ("switchyard", "switchyard-governed"))
                      for p in ("m0", "anthropic")],
    }
    return [(name, out[name]) for name in args.scenarios if name in out]


def soak(ctx, target, seconds, rate):
    """Open-loop load on `target` for `seconds`, sampling its RSS every 10 s."""
    pids = target.pids("m0")
    body = ctx["bodies"][("m0", False)]
    samples = []
    proc = subprocess.Popen(oha_argv(target.url("m0"), target.key, body, 64, seconds, rate),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    start = time.monotonic()
    while proc.poll() is None:
        samples.append((round(time.monotonic() - start), round(t.memory_mib(pids, "VmRSS"), 1)))
        time.sleep(10)
    out, _ = proc.communicate()
    j = json.loads(out) if out.strip() else {}
    codes = j.get("statusCodeDistribution") or {}
    return {"target": target.name, "seconds": seconds, "rate": rate, "samples": samples,
            "ok": codes.get("200", 0), "non200": sum(v for k, v in codes.items() if k != "200")}


# ---- main -----------------------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    all_targets = ["direct", "pingora", "nginx", "switchyard", "switchyard-governed",
                   "switchyard-governed-pg", "switchyard-governed-logged",
                   "switchyard-governed-logged-dead", "litellm"]
    p.add_argument("--targets", default=",".join(all_targets))
    p.add_argument("--scenarios", default="chat,stream,rate,inflight,streams,anthropic")
    p.add_argument("--concurrency", default="1,16,64,256,1000")
    p.add_argument("--rates", default="500,2000", help="open-loop request rates (req/s) for `rate`")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--duration", type=int, default=5, help="seconds per run")
    p.add_argument("--workers", type=int, default=os.cpu_count(), help="worker threads per gateway")
    p.add_argument("--mock-threads", type=int, default=2)
    p.add_argument("--soak", type=int, default=0, help="seconds of soak on switchyard-governed")
    p.add_argument("--soak-rate", type=int, default=1000)
    p.add_argument("--quick", action="store_true", help="1 repetition, 2 s runs, c=1,64")
    p.add_argument("--skip-build", action="store_true")
    p.add_argument("--no-install", action="store_true", help="skip LiteLLM when it is not installed")
    p.add_argument("--database-url", default=os.environ.get(
        "SWITCHYARD_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/switchyard_bench"))
    p.add_argument("--redis-url", default=os.environ.get("SWITCHYARD_BENCH_REDIS_URL", "redis://127.0.0.1:6379"))
    p.add_argument("--litellm-venv", default=os.environ.get("LITELLM_VENV", os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
        "switchyard-loadtest", f"litellm-{LITELLM_VERSION}")))
    p.add_argument("--out", default=None, help="results folder (default loadtest/results/<date>)")
    args = p.parse_args()
    if args.quick:
        args.reps, args.duration, args.concurrency = 1, 2, "1,64"
    args.targets = [x for x in args.targets.split(",") if x]
    args.scenarios = [x for x in args.scenarios.split(",") if x]
    args.concurrency = [int(x) for x in args.concurrency.split(",")]
    args.rates = [int(x) for x in args.rates.split(",")]
    # A quick run never overwrites the day's full run.
    folder = datetime.date.today().isoformat() + ("-quick" if args.quick else "")
    out_dir = args.out or os.path.join(HERE, "results", folder)
    os.makedirs(out_dir, exist_ok=True)

    ensure_tools(args)
    bins = build(args)
    if "switchyard-governed-pg" in args.targets:
        reset_postgres(args.database_url)
    workdir = tempfile.mkdtemp(prefix="switchyard-harness-")
    fleet = t.Fleet(workdir, bins, args.workers)
    csv_file = open(os.path.join(out_dir, "results.csv"), "w", newline="")
    writer = csv.DictWriter(csv_file, fieldnames=report.COLUMNS, extrasaction="ignore")
    writer.writeheader()
    ctx = {"bins": bins, "rows": [], "writer": writer, "csv": csv_file, "bodies": {}}
    meta = machine_meta(args)
    try:
        fleet.start_mocks(args.mock_threads)
        for profile in list(t.PROFILES) + ["anthropic"]:
            for stream in (False, True):
                ctx["bodies"][(profile, stream)] = write_body(workdir, profile, stream)
        tgts = start_targets(args, fleet)
        meta["versions"].update({tg.name: tg.version() for tg in tgts if hasattr(tg, "version")})
        idle = warm_up(ctx, tgts)
        meta["idle_rss_mib"] = idle
        for name, runs in scenarios(args):
            for rep in range(args.reps):
                for profile, c, rate, stream, tool, duration, only in runs:
                    for target in rotate(tgts, rep):
                        if only and target.name not in only:
                            continue
                        if profile not in target.bases:
                            continue
                        one_run(ctx, name, target, profile, c, duration, rate, stream, tool)
        # Per serving process (a bare Pingora or a mock per profile; one process or tree otherwise).
        meta["peak_rss_mib"] = {tg.name: max(round(t.memory_mib(tg.pids(p), "VmHWM"), 1) for p in tg.bases)
                                for tg in tgts}
        if args.soak:
            gov = next((tg for tg in tgts if tg.name == "switchyard-governed"), None)
            if gov:
                log(f"soak: {args.soak} s at {args.soak_rate} req/s on {gov.name}")
                meta["soak"] = soak(ctx, gov, args.soak, args.soak_rate)
    finally:
        fleet.stop()
        csv_file.close()
        shutil.rmtree(workdir, ignore_errors=True)
    meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
    report.write(out_dir, ctx["rows"], meta)
    log(f"results in {out_dir}: results.csv, results.md, latency.svg")


def start_targets(args, fleet):
    tgts = []
    for name in args.targets:
        if name == "direct":
            tg = t.Direct(fleet)
        elif name == "pingora":
            tg = t.BarePingora(fleet)
        elif name == "nginx":
            tg = t.Nginx(fleet)
        elif name == "switchyard":
            tg = t.Switchyard(fleet, "master")
        elif name == "switchyard-governed":
            tg = t.Switchyard(fleet, "governed")
        elif name == "switchyard-governed-pg":
            tg = t.Switchyard(fleet, "governed-pg", args.database_url, args.redis_url)
        elif name in ("switchyard-governed-logged", "switchyard-governed-logged-dead"):
            tg = t.Switchyard(fleet, name.removeprefix("switchyard-"))
        elif name == "litellm":
            tg = t.LiteLLM(fleet, args.litellm_venv)
        else:
            sys.exit(f"harness: unknown target {name!r}")
        log(f"starting {name}")
        tg.start()
        tgts.append(tg)
    return tgts


def warm_up(ctx, tgts):
    """A short run per target and profile (connections, pools, lazy state), then idle RSS."""
    for tg in tgts:
        for profile in ("m0", "m20", "m200"):
            if profile in tg.bases:
                oha(tg.url(profile), tg.key, ctx["bodies"][(profile, False)], 8, 1)
    time.sleep(1)
    return {tg.name: round(t.memory_mib(tg.pids("m0"), "VmRSS"), 1) for tg in tgts}


def reset_postgres(url):
    """Drops and recreates the bench database so every run starts from an empty store."""
    db = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    for sql in (f'DROP DATABASE IF EXISTS "{db}"', f'CREATE DATABASE "{db}"'):
        run(["psql", admin, "-q", "-c", sql], stdout=subprocess.DEVNULL)


def machine_meta(args):
    def cmd(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return "?"
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    except OSError:
        pass
    return {
        "date": datetime.date.today().isoformat(),
        "machine": f"{os.cpu_count()} vCPU {cpu}, {platform.system()} {platform.release()}",
        "commit": cmd(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]),
        "versions": {"oha": cmd(["oha", "--version"]), "nginx": t.Nginx.version()},
        "command": " ".join(["loadtest/harness.py"] + sys.argv[1:]),
        "reps": args.reps, "duration_s": args.duration, "workers": args.workers,
    }


if __name__ == "__main__":
    main()
