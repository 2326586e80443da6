#!/usr/bin/env python3
"""instructions.py: user-space instructions per request of each gateway, counted by callgrind.

    loadtest/instructions.py                                  # pingora and the three Switchyard modes
    loadtest/instructions.py --targets pingora,switchyard-governed --requests 4000

CPU time on a shared 2-vCPU VM moves by 20% or more from run to run; an instruction count does
not. Each gateway runs under `valgrind --tool=callgrind`; after a warm-up (connections, pools,
caches, prepared statements) the counters are zeroed, oha sends a fixed number of requests at
c=8, and the process's instructions since the zero (every thread: workers, spend writer,
SQLite) are divided by the requests. Kernel work (syscalls, TCP) is not counted: the
bare Pingora hop makes the same syscalls per request as Switchyard. The spend writer flushes
every 0.5 s, so the script waits a second before reading the count.

Writes a Markdown table to stdout and instructions.csv to --out (default: print only).
"""

import argparse
import csv
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import targets as t  # noqa: E402

MODES = {"switchyard": "master", "switchyard-governed": "governed", "switchyard-governed-pg": "governed-pg",
         "switchyard-governed-logged": "governed-logged",
         "switchyard-governed-logged-dead": "governed-logged-dead"}


def callgrind(out_dir):
    def wrap(name, argv):
        if name == "pingora-m0" or name.startswith("switchyard"):
            return ["valgrind", "--tool=callgrind", "--dump-instr=no",
                    f"--callgrind-out-file={out_dir}/{name}.%p"] + argv
        return argv
    return wrap


def control(pid, *flags):
    subprocess.run(["callgrind_control", *flags, str(pid)], check=True, stdout=subprocess.DEVNULL)


def count(target, body, n, out_dir):
    """Instructions per request of `target` (m0 profile) over `n` requests."""
    pid = target.procs["m0"].pid
    url = target.url("m0")
    harness.oha(url, target.key, body, 8, 3)  # warm-up, not counted
    time.sleep(1.5)  # the warm-up's spend rows written
    control(pid, "--zero")
    res = subprocess.run(["oha", "-n", str(n), "-c", "8", "--no-tui", "--output-format", "json",
                          "-m", "POST", "-H", f"Authorization: Bearer {target.key}",
                          "-H", "content-type: application/json", "-D", body, url],
                         capture_output=True, text=True, check=True, timeout=900)
    time.sleep(1.5)  # the counted requests' spend rows written
    control(pid, "--dump")
    time.sleep(0.5)
    dumps = sorted(glob.glob(f"{out_dir}/*.{pid}*"), key=os.path.getmtime)
    with open(dumps[-1]) as f:
        total = next(int(line.split()[1]) for line in f if line.startswith("summary:"))
    codes = json.loads(res.stdout).get("statusCodeDistribution") or {}
    if codes.get("200", 0) != n:
        raise RuntimeError(f"{target.name}: expected {n} answers 200, got {codes}")
    return total / n


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--targets", default="pingora,switchyard,switchyard-governed,switchyard-governed-pg")
    p.add_argument("--requests", type=int, default=2000, help="counted chat requests per target")
    p.add_argument("--streams", type=int, default=500, help="counted 24-event streams per target")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--skip-build", action="store_true")
    p.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/switchyard_bench")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379")
    p.add_argument("--out", default=None, help="folder for instructions.csv")
    p.add_argument("--keep", default=None,
                   help="folder to keep callgrind's dumps in (per-function counts: "
                        "callgrind_annotate DUMP; the first dump after the zero is the chat run)")
    args = p.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("instructions.py needs valgrind: apt-get install -y valgrind")
    names = [x for x in args.targets.split(",") if x]
    args.targets, args.no_install = names, True
    harness.ensure_tools(args)
    bins = harness.build(args)
    if "switchyard-governed-pg" in names:
        harness.reset_postgres(args.database_url)
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    workdir = args.keep or tempfile.mkdtemp(prefix="switchyard-instructions-")
    rows = []
    try:
        for name in names:
            fleet = t.Fleet(workdir, bins, args.workers, wrap=callgrind(workdir))
            try:
                fleet.start_mocks(2)
                chat = harness.write_body(workdir, "m0", False)
                stream = harness.write_body(workdir, "m0", True)
                if name == "pingora":
                    tg = t.BarePingora(fleet)
                else:
                    tg = t.Switchyard(fleet, MODES[name], args.database_url, args.redis_url)
                harness.log(f"{name}: starting under callgrind")
                tg.start()
                per_req = count(tg, chat, args.requests, workdir)
                per_stream = count(tg, stream, args.streams, workdir)
                harness.log(f"{name}: {per_req:,.0f} instructions/request, {per_stream:,.0f}/stream")
                rows.append({"target": name, "instr_per_request": round(per_req),
                             "instr_per_stream": round(per_stream)})
            finally:
                fleet.stop()
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    base = next((r for r in rows if r["target"] == "pingora"), None)
    print("\n| target | instructions/request | vs pingora | instructions/stream (24 events) | vs pingora |")
    print("|---|---|---|---|---|")
    for r in rows:
        ratio = (lambda k: f"{r[k] / base[k]:.2f}" if base else "–")
        print(f"| {r['target']} | {r['instr_per_request']:,} | {ratio('instr_per_request')} | "
              f"{r['instr_per_stream']:,} | {ratio('instr_per_stream')} |")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "instructions.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)


if __name__ == "__main__":
    main()
