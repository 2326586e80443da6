"""The processes the harness measures: mock upstreams and the gateways in front of them.

Every process is started on loopback on a free port, waited for, and stopped by `Fleet.stop()`.
A target answers the same request body at `url(profile)`; its `pids(profile)` are the processes
whose CPU time and memory that profile's runs are charged with.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

MASTER_KEY = "sk-bench-master-0123456789"

# Upstream profiles: one mock process each (the mock's behaviour is per process).
#   m0:   zero delay, 24-event streams (chat, stream and Anthropic-upstream scenarios)
#   m20:  20 ms before the response head (open-loop fixed-rate scenario)
#   m200: 200 ms before the response head (1000 requests in flight)
#   s64:  64 stream events 20 ms apart (1000 concurrent streams)
PROFILES = {
    "m0": ["--chunks", "24"],
    "m20": ["--chunks", "24", "--latency-ms", "20"],
    "m200": ["--chunks", "24", "--latency-ms", "200"],
    "s64": ["--chunks", "64", "--chunk-delay-ms", "20"],
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, proc, log, timeout=120.0):
    """Polls `url` until it answers (any status below 500) or `proc` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited ({proc.returncode}); log {log}:\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status < 500:
                    return
        except urllib.error.HTTPError as e:
            if e.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s; log {log}:\n{tail(log)}")


def tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def post_json(url, body, key):
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {key}"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def proc_tree(pid):
    """`pid` and all its descendants (nginx workers, LiteLLM's uvicorn workers)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def cpu_seconds(pids):
    """User plus system CPU time of `pids` (and their reaped children), in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


def memory_mib(pids, field):
    """Sum of a /proc/PID/status memory field (VmRSS now, VmHWM peak) over `pids`, in MiB."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        total += int(line.split()[1])
        except (OSError, ValueError):
            pass
    return total / 1024


class Fleet:
    """Starts and stops every process of a run."""

    def __init__(self, workdir, binaries, workers, wrap=None):
        self.workdir = workdir
        self.bin = binaries
        self.workers = workers
        self.procs = []
        self.mocks = {}  # profile -> (base "http://127.0.0.1:P", proc)
        # wrap(name, argv) -> argv: runs a process under a tool (instructions.py: valgrind).
        self.wrap = wrap

    def spawn(self, name, argv, cwd=None, env=None):
        if self.wrap:
            argv = self.wrap(name, argv)
        log = os.path.join(self.workdir, f"{name}.log")
        f = open(log, "w")
        proc = subprocess.Popen(
            argv, stdout=f, stderr=subprocess.STDOUT, cwd=cwd or self.workdir,
            env=env, start_new_session=True,
        )
        f.close()
        self.procs.append(proc)
        return proc, log

    def start_mocks(self, threads):
        for profile, extra in PROFILES.items():
            port = free_port()
            argv = [self.bin["mock"], "--port", str(port), "--threads", str(threads),
                    "--name", f"mock-{profile}", *extra]
            proc, log = self.spawn(f"mock-{profile}", argv)
            base = f"http://127.0.0.1:{port}"
            wait_http(base + "/v1/models", proc, log)
            self.mocks[profile] = (base, proc)

    def stop(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except OSError:
                    pass
        deadline = time.monotonic() + 10
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
        self.procs.clear()


class Target:
    """A measured endpoint: `url(profile)`, `key`, and the pids charged for each profile."""

    name = "?"
    key = ""
    chat_path = "/v1/chat/completions"

    def __init__(self, fleet):
        self.fleet = fleet
        self.bases = {}  # profile -> base URL
        self.procs = {}  # profile -> Popen

    def url(self, profile):
        return self.bases[profile] + self.chat_path

    def pids(self, profile):
        return proc_tree(self.procs[profile].pid)

    def start(self):
        raise NotImplementedError

    def serve_every_group(self, base, proc):
        """One gateway process at `base` answers every profile's model group (and Anthropic's)."""
        for profile in list(self.fleet.mocks) + ["anthropic"]:
            self.bases[profile], self.procs[profile] = base, proc


class Direct(Target):
    """Straight at the mock: the baseline every other target's added latency is taken over."""

    name = "direct"

    def start(self):
        for profile, (base, proc) in self.fleet.mocks.items():
            self.bases[profile], self.procs[profile] = base, proc


class BarePingora(Target):
    """`examples/pingora_passthrough.rs`: Pingora's stock proxy path, one process per profile."""

    name = "pingora"

    def start(self):
        for profile, (base, _) in self.fleet.mocks.items():
            port = free_port()
            argv = [self.fleet.bin["pingora"], "--listen", f"127.0.0.1:{port}",
                    "--upstream", base.removeprefix("http://"), "--threads", str(self.fleet.workers)]
            proc, log = self.fleet.spawn(f"pingora-{profile}", argv)
            self.bases[profile] = f"http://127.0.0.1:{port}"
            self.procs[profile] = proc
            wait_http(self.bases[profile] + "/v1/models", proc, log)


NGINX_CONF = """\
daemon off;
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {dir}/nginx-body;
    proxy_temp_path {dir}/nginx-proxy;
    fastcgi_temp_path {dir}/nginx-fastcgi;
    uwsgi_temp_path {dir}/nginx-uwsgi;
    scgi_temp_path {dir}/nginx-scgi;
    keepalive_requests 1000000;
{servers}
}}
"""

NGINX_SERVER = """\
    upstream up_{profile} {{ server {upstream}; keepalive 1024; keepalive_requests 1000000; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://up_{profile};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering off;
        }}
    }}
"""


class Nginx(Target):
    """nginx from the distribution: one reverse-proxy hop with a keep-alive upstream pool."""

    name = "nginx"

    def start(self):
        exe = shutil.which("nginx") or "/usr/sbin/nginx"
        d = self.fleet.workdir
        servers = []
        for profile, (base, _) in self.fleet.mocks.items():
            port = free_port()
            self.bases[profile] = f"http://127.0.0.1:{port}"
            servers.append(NGINX_SERVER.format(
                profile=profile, upstream=base.removeprefix("http://"), port=port))
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(workers=self.fleet.workers, dir=d, servers="".join(servers)))
        proc, log = self.fleet.spawn("nginx", [exe, "-c", conf, "-p", d])
        for profile in self.fleet.mocks:
            self.procs[profile] = proc
            wait_http(self.bases[profile] + "/v1/models", proc, log)

    @staticmethod
    def version():
        exe = shutil.which("nginx") or "/usr/sbin/nginx"
        out = subprocess.run([exe, "-v"], capture_output=True, text=True).stderr
        m = re.search(r"nginx/(\S+)", out)
        return m.group(1) if m else "?"


def model_list(mocks):
    """One model group per profile (`bench-<profile>`), plus `bench-anthropic` on the m0 mock."""
    lines = ["model_list:"]
    for profile, (base, _) in mocks.items():
        lines += [
            f"  - model_name: bench-{profile}",
            "    litellm_params:",
            f"      model: openai/bench-{profile}",
            f"      api_base: {base}/v1",
            "      api_key: sk-mock",
            "      input_cost_per_token: 0.0000025",
            "      output_cost_per_token: 0.00001",
        ]
    lines += [
        "  - model_name: bench-anthropic",
        "    litellm_params:",
        "      model: anthropic/bench-anthropic",
        f"      api_base: {mocks['m0'][0]}",
        "      api_key: sk-ant-mock",
        "      input_cost_per_token: 0.000003",
        "      output_cost_per_token: 0.000015",
    ]
    return "\n".join(lines) + "\n"


class Switchyard(Target):
    """This gateway, in one of three modes:

    master:      requests carry the master key (no virtual-key checks), store on SQLite;
    governed:    a virtual key with a budget, rpm/tpm and max_parallel limits, spend to SQLite;
    governed-pg: the same key on Postgres, with the counters shared through Redis;
    governed-logged: governed, plus JSON logs (an access line per request), a generic_api
                 webhook and OpenTelemetry spans over OTLP/HTTP to a receiver in this process
                 (batches POSTed every second).
    """

    def __init__(self, fleet, mode, database_url=None, redis_url=None):
        super().__init__(fleet)
        self.mode = mode
        self.name = "switchyard" if mode == "master" else f"switchyard-{mode}"
        self.database_url = database_url
        self.redis_url = redis_url

    def start(self):
        d = os.path.join(self.fleet.workdir, self.name)
        os.makedirs(d, exist_ok=True)
        settings = [f"  master_key: {MASTER_KEY}"]
        router = []
        if self.mode == "governed-pg":
            settings.append(f"  database_url: {self.database_url}")
            host, port = self.redis_url.removeprefix("redis://").split("/")[0].split(":")
            router = ["router_settings:", f"  redis_host: {host}", f"  redis_port: {port}"]
        logging = []
        env = dict(os.environ, RUST_LOG="warn")
        if self.mode == "governed-logged":
            sink = log_receiver()
            env.update(OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{sink}",
                       OTEL_BSP_SCHEDULE_DELAY="1000")
            logging = ["litellm_settings:", "  json_logs: true", "  callbacks: [bench-log, otel]",
                       "callback_settings:", "  bench-log:", "    callback_type: generic_api",
                       f"    endpoint: http://127.0.0.1:{sink}/logs", "    flush_interval: 1"]
        config = os.path.join(d, "config.yaml")
        with open(config, "w") as f:
            f.write(model_list(self.fleet.mocks))
            f.write("general_settings:\n" + "\n".join(settings) + "\n")
            if router:
                f.write("\n".join(router) + "\n")
            if logging:
                f.write("\n".join(logging) + "\n")
        port = free_port()
        argv = [self.fleet.bin["switchyard"], "--config", config, "--host", "127.0.0.1", "--port", str(port),
                "--num-workers", str(self.fleet.workers)]
        proc, log = self.fleet.spawn(self.name, argv, cwd=d, env=env)
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/health/readiness", proc, log)
        self.key = MASTER_KEY
        if self.mode != "master":
            generated = post_json(base + "/key/generate", {
                "key_alias": "bench",
                "max_budget": 1000000,
                "budget_duration": "30d",
                "rpm_limit": 1000000000,
                "tpm_limit": 1000000000000,
                "max_parallel_requests": 1000000,
            }, MASTER_KEY)
            self.key = generated["key"]
        self.serve_every_group(base, proc)


def log_receiver():
    """A webhook endpoint answering 200 to every POST, on a daemon thread; its port."""
    import http.server
    import threading

    class Sink(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


class LiteLLM(Target):
    """LiteLLM's proxy from PyPI (one worker), with the same model list and master key."""

    name = "litellm"

    def __init__(self, fleet, venv):
        super().__init__(fleet)
        self.venv = venv

    def start(self):
        d = os.path.join(self.fleet.workdir, "litellm")
        os.makedirs(d, exist_ok=True)
        config = os.path.join(d, "config.yaml")
        with open(config, "w") as f:
            f.write(model_list(self.fleet.mocks))
            f.write(f"general_settings:\n  master_key: {MASTER_KEY}\n")
        port = free_port()
        env = dict(os.environ, LITELLM_LOG="ERROR", LITELLM_MODE="PRODUCTION",
                   LITELLM_LOCAL_MODEL_COST_MAP="True", DISABLE_SCHEMA_UPDATE="True")
        argv = [os.path.join(self.venv, "bin", "litellm"), "--config", config,
                "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]
        proc, log = self.fleet.spawn("litellm", argv, cwd=d, env=env)
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/health/readiness", proc, log, timeout=300)
        self.key = MASTER_KEY
        self.serve_every_group(base, proc)

    def version(self):
        py = os.path.join(self.venv, "bin", "python")
        out = subprocess.run([py, "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
                             capture_output=True, text=True)
        return out.stdout.strip() or "?"
