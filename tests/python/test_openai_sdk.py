"""Drop-in check: the official `openai` and `anthropic` Python SDKs against switchyard, changing
only the base URL. The `openai` SDK also talks to a model group whose upstream speaks Anthropic's
Messages API; the `anthropic` SDK talks to `/v1/messages` with an OpenAI upstream.

Starts two `switchyard-mock` upstreams (`ok`, and `broken` with --failure-rate 1.0) and one
`switchyard` on port 0, learning every port from the line each process prints.

Binaries: $SWITCHYARD_BIN and $SWITCHYARD_MOCK_BIN (default target/debug/... under the repo root,
or under $CARGO_TARGET_DIR when that is set).

Run: pip install -r tests/python/requirements.txt && pytest -q tests/python
"""

from __future__ import annotations

import asyncio
import os
import queue
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import anthropic
import httpx
import openai
import pytest

REPO = Path(__file__).resolve().parents[2]
MASTER_KEY = "sk-pytest-master-0123456789"
STARTUP_TIMEOUT_S = 60.0
STREAM_CHUNKS = 4  # the `ok` mock streams "Hello from ok", " tok1", " tok2", " tok3"
STREAM_TEXT = "Hello from ok tok1 tok2 tok3"


def _bin(env_var: str, name: str) -> Path:
    explicit = os.environ.get(env_var)
    if explicit:
        return Path(explicit)
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    if not target.is_absolute():
        target = REPO / target
    return target / "debug" / name


SWITCHYARD_BIN = _bin("SWITCHYARD_BIN", "switchyard")
SWITCHYARD_MOCK_BIN = _bin("SWITCHYARD_MOCK_BIN", "switchyard-mock")


@dataclass
class Proc:
    """A child process whose output lines are drained by a thread into a queue (and a log)."""

    name: str
    popen: subprocess.Popen[str]
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    log: list[str] = field(default_factory=list)

    def follow(self, stream: IO[str]) -> None:
        def pump() -> None:
            for line in stream:
                self.log.append(line.rstrip("\n"))
                self.lines.put(line)
            self.lines.put(None)  # EOF marker

        threading.Thread(target=pump, name=f"{self.name}-pipe", daemon=True).start()

    def wait_for(self, pattern: str, timeout: float = STARTUP_TIMEOUT_S) -> re.Match[str]:
        """Block until an output line matches `pattern`; fail with the log if it never does."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(remaining, 0.0))
            except queue.Empty:
                pytest.fail(f"{self.name} did not print /{pattern}/ within {timeout}s; log:\n" + self.text())
            if line is None:
                pytest.fail(
                    f"{self.name} exited (rc={self.popen.wait()}) before printing /{pattern}/; log:\n" + self.text()
                )
            m = regex.search(line)
            if m:
                return m

    def text(self) -> str:
        return "\n".join(self.log)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def _spawn(name: str, argv: list[str], watch: str, cwd: str | None = None) -> Proc:
    """Start argv; `watch` ("stdout" or "stderr") is the stream carrying its listening line."""
    if not Path(argv[0]).is_file():
        pytest.fail(f"{argv[0]} not found: run `cargo build --bins` or set SWITCHYARD_BIN/SWITCHYARD_MOCK_BIN")
    env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"))
    # switchyard reads HOST/PORT/CONFIG_FILE_PATH from the environment; the argv below wins,
    # but drop them anyway so a stray value cannot confuse a failure message.
    for var in ("HOST", "PORT", "CONFIG_FILE_PATH", "NUM_WORKERS", "DATABASE_URL", "REDIS_URL"):
        env.pop(var, None)
    popen = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if watch == "stdout" else subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        bufsize=1,
        env=env,
        cwd=cwd,
    )
    proc = Proc(name, popen)
    if watch == "stdout":
        assert popen.stdout is not None
        proc.follow(popen.stdout)
    else:
        assert popen.stdout is not None and popen.stderr is not None
        proc.follow(popen.stderr)
        # Drain stdout too so a chatty child never blocks on a full pipe.
        threading.Thread(target=lambda s=popen.stdout: [None for _ in s], daemon=True).start()
    return proc


def _start_mock(name: str, *extra: str) -> tuple[Proc, str]:
    proc = _spawn(
        f"mock-{name}",
        [str(SWITCHYARD_MOCK_BIN), "--host", "127.0.0.1", "--port", "0", "--name", name, *extra],
        watch="stdout",
    )
    base = proc.wait_for(r"mock listening on (http://\S+/v1)").group(1)
    return proc, base


def _config(ok_base: str, broken_base: str) -> str:
    return f"""\
model_list:
  - model_name: chat
    litellm_params:
      model: openai/upstream-chat
      api_base: {ok_base}
      api_key: sk-provider-secret
  - model_name: embed
    litellm_params:
      model: openai/text-embedding
      api_base: {ok_base}
      api_key: sk-provider-secret
  - model_name: claude
    litellm_params:
      model: anthropic/claude-sonnet-4-5
      api_base: {ok_base}
      api_key: sk-provider-secret
  - model_name: gemini
    litellm_params:
      model: gemini/gemini-2.5-flash
      api_base: {ok_base}
      api_key: sk-provider-secret
  - model_name: broken
    litellm_params:
      model: openai/upstream-broken
      api_base: {broken_base}
      api_key: sk-provider-secret

general_settings:
  master_key: {MASTER_KEY}
"""


@dataclass
class Stack:
    gateway_url: str  # http://127.0.0.1:PORT
    gateway: Proc

    @property
    def base_url(self) -> str:
        return self.gateway_url + "/v1"


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    procs: list[Proc] = []
    with tempfile.TemporaryDirectory(prefix="switchyard-pytest-") as tmp:
        try:
            ok, ok_base = _start_mock("ok", "--chunks", str(STREAM_CHUNKS))
            procs.append(ok)
            broken, broken_base = _start_mock("broken", "--failure-rate", "1.0")
            procs.append(broken)

            config = Path(tmp) / "config.yaml"
            config.write_text(_config(ok_base, broken_base))
            gw = _spawn(
                "switchyard",
                [
                    str(SWITCHYARD_BIN),
                    "--config",
                    str(config),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--num-workers",
                    "2",
                ],
                watch="stderr",
                cwd=tmp,  # the gateway's SQLite store (switchyard.db) lands here
            )
            procs.append(gw)
            port = gw.wait_for(r"listening on http://127\.0\.0\.1:(\d+)").group(1)
            gw.wait_for(r"ready: SIGHUP")
            url = f"http://127.0.0.1:{port}"
            _wait_ready(url, gw)
            yield Stack(gateway_url=url, gateway=gw)
        finally:
            for proc in reversed(procs):
                proc.stop()


def _wait_ready(url: str, gw: Proc) -> None:
    """Bounded poll of /health/readiness after the process said it is listening."""
    last: object = None
    for _ in range(100):
        try:
            resp = httpx.get(url + "/health/readiness", timeout=2.0)
            if resp.status_code == 200:
                return
            last = f"{resp.status_code} {resp.text}"
        except httpx.HTTPError as e:
            last = e
        if gw.popen.poll() is not None:
            break
        time.sleep(0.05)  # poll interval of a bounded readiness loop, not synchronisation
    pytest.fail(f"gateway never became ready (last: {last}); log:\n{gw.text()}")


@pytest.fixture()
def client(stack: Stack) -> Iterator[openai.OpenAI]:
    c = openai.OpenAI(api_key=MASTER_KEY, base_url=stack.base_url, max_retries=0, timeout=30.0)
    yield c
    c.close()


# --- success paths ---------------------------------------------------------------------------


def test_chat_completion(client: openai.OpenAI) -> None:
    resp = client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hi"}])
    assert resp.object == "chat.completion"
    assert len(resp.choices) == 1
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].message.content == "Hello from ok"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None and resp.usage.total_tokens > 0


def test_chat_completion_stream(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="chat",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
    )
    pieces: list[str] = []
    finish_reasons: list[str] = []
    with stream:
        for chunk in stream:  # must end cleanly at [DONE], raising nothing
            assert chunk.object == "chat.completion.chunk"
            for choice in chunk.choices:
                if choice.delta.content:
                    pieces.append(choice.delta.content)
                if choice.finish_reason:
                    finish_reasons.append(choice.finish_reason)
    assert "".join(pieces) == STREAM_TEXT, pieces
    assert pieces[0] == "Hello from ok"
    assert finish_reasons == ["stop"]


def test_stream_with_raw_response_has_sse_content_type(client: openai.OpenAI) -> None:
    with client.chat.completions.with_streaming_response.create(
        model="chat", messages=[{"role": "user", "content": "hi"}], stream=True
    ) as raw:
        assert raw.status_code == 200
        assert raw.headers["content-type"].startswith("text/event-stream")
        body = "".join(raw.iter_text())
    assert body.rstrip().endswith("data: [DONE]")


def test_embeddings(client: openai.OpenAI) -> None:
    resp = client.embeddings.create(model="embed", input="hello")
    assert resp.object == "list"
    assert len(resp.data) == 1
    vec = resp.data[0].embedding
    assert len(vec) == 8
    assert all(isinstance(x, float) for x in vec)


def test_embeddings_batch(client: openai.OpenAI) -> None:
    resp = client.embeddings.create(model="embed", input=["a", "b", "c"])
    assert [d.index for d in resp.data] == [0, 1, 2]
    assert all(len(d.embedding) == 8 for d in resp.data)


def test_legacy_completions(client: openai.OpenAI) -> None:
    resp = client.completions.create(model="chat", prompt="Say hi")
    assert resp.object == "text_completion"
    assert len(resp.choices) == 1
    assert resp.choices[0].text == "Hello from ok"


def test_models_list(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert "chat" in ids
    assert "embed" in ids
    assert "broken" in ids


# --- typed errors ----------------------------------------------------------------------------


def _error_body(exc: openai.APIStatusError) -> dict:
    body = exc.body
    # The SDK hands back the `error` object itself when the body is {"error": {...}}.
    assert isinstance(body, dict), body
    for key in ("message", "type", "param", "code"):
        assert key in body, body
    return body


def test_wrong_key_is_authentication_error(stack: Stack) -> None:
    c = openai.OpenAI(api_key="sk-wrong-key", base_url=stack.base_url, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        c.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 401
    assert _error_body(info.value)["type"] == "auth_error"


def test_unknown_model_is_bad_request(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 400
    body = _error_body(info.value)
    assert body["type"] == "invalid_request_error"
    assert "no-such-model" in body["message"]
    assert "/v1/models" in body["message"]


def test_missing_messages_is_bad_request(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.post("/chat/completions", body={"model": "chat"}, cast_to=httpx.Response)
    assert info.value.status_code == 400
    assert _error_body(info.value)["type"] == "invalid_request_error"


def test_unknown_route_is_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.get("/no-such-route", cast_to=httpx.Response)
    assert info.value.status_code == 404
    _error_body(info.value)


_FAILURE_LINE = re.compile(r"^litellm_deployment_failure_responses_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$", re.MULTILINE)


def _broken_failures(stack: Stack) -> float:
    """Failed upstream attempts the gateway counted for the `broken` group (from /metrics)."""
    resp = httpx.get(stack.gateway_url + "/metrics", headers={"Authorization": f"Bearer {MASTER_KEY}"})
    assert resp.status_code == 200, resp.text
    return sum(
        float(m["value"]) for m in _FAILURE_LINE.finditer(resp.text) if 'requested_model="broken"' in m["labels"]
    )


NO_RETRY = {"x-litellm-num-retries": "0"}


def test_failing_upstream_is_server_error(client: openai.OpenAI, stack: Stack) -> None:
    before = _broken_failures(stack)
    with pytest.raises((openai.InternalServerError, openai.RateLimitError)) as info:
        client.chat.completions.create(
            model="broken", messages=[{"role": "user", "content": "hi"}], extra_headers=NO_RETRY
        )
    assert info.value.status_code in (429, 500, 502, 503)
    _error_body(info.value)
    assert _broken_failures(stack) - before == 1  # one attempt: the header turned retries off


def test_failing_upstream_stream_is_server_error(client: openai.OpenAI, stack: Stack) -> None:
    before = _broken_failures(stack)
    with pytest.raises((openai.InternalServerError, openai.RateLimitError)):
        stream = client.chat.completions.create(
            model="broken", messages=[{"role": "user", "content": "hi"}], stream=True, extra_headers=NO_RETRY
        )
        for _ in stream:
            pass
    assert _broken_failures(stack) - before == 1


def test_retry_header_sets_attempts(client: openai.OpenAI, stack: Stack) -> None:
    before = _broken_failures(stack)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(
            model="broken",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"x-litellm-num-retries": "1"},
        )
    assert _broken_failures(stack) - before == 2  # first try + one retry


# --- health endpoints (plain httpx: not part of the SDK) and the async client ----------------


def test_health_endpoints(stack: Stack) -> None:
    assert httpx.get(stack.gateway_url + "/health/liveliness").status_code == 200
    assert httpx.get(stack.gateway_url + "/health/readiness").status_code == 200


def test_async_client_chat(stack: Stack) -> None:
    async def go() -> str | None:
        async with openai.AsyncOpenAI(api_key=MASTER_KEY, base_url=stack.base_url, max_retries=0) as c:
            resp = await c.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hi"}])
            return resp.choices[0].message.content

    assert asyncio.run(go()) == "Hello from ok"


# --- Anthropic and Gemini upstreams through the openai SDK ------------------------------------------------

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.mark.parametrize("model", ["claude", "gemini"])
def test_openai_sdk_to_translated_upstream(client: openai.OpenAI, model: str) -> None:
    r = client.chat.completions.create(
        model=model, messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    )
    assert r.object == "chat.completion"
    assert r.choices[0].message.content == STREAM_TEXT
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None and r.usage.completion_tokens == STREAM_CHUNKS


@pytest.mark.parametrize("model", ["claude", "gemini"])
def test_openai_sdk_stream_from_translated_upstream(client: openai.OpenAI, model: str) -> None:
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == STREAM_TEXT
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == STREAM_CHUNKS


@pytest.mark.parametrize("model", ["claude", "gemini"])
def test_openai_sdk_tools_from_translated_upstream(client: openai.OpenAI, model: str) -> None:
    r = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "weather in Paris?"}], tools=[WEATHER_TOOL]
    )
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"
    assert call.function.arguments == '{"city":"Paris"}'


# --- the anthropic SDK against /v1/messages -------------------------------------------------------


@pytest.fixture()
def claude(stack: Stack) -> Iterator[anthropic.Anthropic]:
    c = anthropic.Anthropic(api_key=MASTER_KEY, base_url=stack.gateway_url, max_retries=0, timeout=30.0)
    yield c
    c.close()


def test_anthropic_sdk_messages_to_openai_upstream(claude: anthropic.Anthropic) -> None:
    m = claude.messages.create(
        model="chat", max_tokens=100, system="be brief", messages=[{"role": "user", "content": "hi"}]
    )
    assert m.type == "message"
    assert m.content[0].type == "text"
    assert m.content[0].text == "Hello from ok"
    assert m.stop_reason == "end_turn"
    assert m.usage.output_tokens > 0 and m.usage.input_tokens > 0


def test_anthropic_sdk_stream(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(
        model="chat", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == STREAM_TEXT
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == STREAM_CHUNKS


def test_anthropic_sdk_tools(claude: anthropic.Anthropic) -> None:
    m = claude.messages.create(
        model="claude",
        max_tokens=100,
        tools=[{"name": "get_weather", "description": "weather", "input_schema": {"type": "object"}}],
        messages=[{"role": "user", "content": "weather in Paris?"}],
    )
    assert m.stop_reason == "tool_use"
    block = m.content[0]
    assert block.type == "tool_use" and block.name == "get_weather"
    assert block.input == {"city": "Paris"}


def test_anthropic_sdk_error_types(stack: Stack) -> None:
    bad = anthropic.Anthropic(api_key="sk-wrong", base_url=stack.gateway_url, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        bad.messages.create(model="chat", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    good = anthropic.Anthropic(api_key=MASTER_KEY, base_url=stack.gateway_url, max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as e:
        good.messages.create(model="no-such-model", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    assert e.value.body["error"]["type"] == "invalid_request_error"


def test_anthropic_sdk_count_tokens(claude: anthropic.Anthropic) -> None:
    r = claude.messages.count_tokens(model="chat", messages=[{"role": "user", "content": "hello there"}])
    assert r.input_tokens > 0


# --- the Responses API, bridged to chat providers ------------------------------------------------


@pytest.mark.parametrize("model", ["chat", "claude", "gemini"])
def test_responses_create(client: openai.OpenAI, model: str) -> None:
    r = client.responses.create(model=model, instructions="be brief", input="hi")
    assert r.object == "response"
    assert r.status == "completed"
    assert r.output_text.startswith("Hello from ok")
    assert r.usage is not None and r.usage.output_tokens > 0


def test_responses_stream(client: openai.OpenAI) -> None:
    with client.responses.stream(model="claude", input="hi") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == STREAM_TEXT
    assert final.status == "completed"
    assert final.output_text == STREAM_TEXT


def test_responses_tool_call(client: openai.OpenAI) -> None:
    r = client.responses.create(
        model="claude",
        input="weather in Paris?",
        tools=[{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
    )
    calls = [o for o in r.output if o.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_weather"
    assert calls[0].arguments == '{"city":"Paris"}'
    # The result goes back as a function_call_output item.
    r2 = client.responses.create(
        model="chat",
        input=[
            {"role": "user", "content": "weather in Paris?"},
            {"type": "function_call", "call_id": calls[0].call_id, "name": "get_weather", "arguments": calls[0].arguments},
            {"type": "function_call_output", "call_id": calls[0].call_id, "output": "18C"},
        ],
    )
    assert r2.status == "completed"


def test_responses_state_needs_an_openai_group(client: openai.OpenAI) -> None:
    # Bridged to Anthropic there is no response store: a clear 400.
    with pytest.raises(openai.BadRequestError) as e:
        client.responses.create(model="claude", input="hi", previous_response_id="resp_123")
    assert e.value.body["param"] == "previous_response_id"
    # An OpenAI-only group gets the request as it is.
    r = client.responses.create(model="chat", input="and then?", previous_response_id="resp_123")
    assert r.status == "completed"


# --- virtual keys (governance) -------------------------------------------------------------------


def _new_key(stack: Stack, **fields: object) -> str:
    resp = httpx.post(
        stack.gateway_url + "/key/generate",
        headers={"Authorization": f"Bearer {MASTER_KEY}"},
        json=fields,
        timeout=10.0,
    )
    assert resp.status_code == 200, resp.text
    key = resp.json()["key"]
    assert key.startswith("sk-")
    return key


def _as_key(stack: Stack, key: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=stack.base_url, max_retries=0, timeout=30.0)


def test_virtual_key_chat_reports_its_spend(stack: Stack) -> None:
    with _as_key(stack, _new_key(stack, key_alias="sdk", max_budget=10)) as c:
        raw = c.chat.completions.with_raw_response.create(
            model="chat", messages=[{"role": "user", "content": "hi"}]
        )
        assert raw.parse().choices[0].message.content
        assert float(raw.headers["x-litellm-key-spend"]) >= 0.0
        assert raw.headers["x-litellm-call-id"]


def test_virtual_key_over_budget_is_bad_request(stack: Stack) -> None:
    with _as_key(stack, _new_key(stack, max_budget=0)) as c:
        with pytest.raises(openai.BadRequestError) as e:
            c.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hi"}])
    body = _error_body(e.value)
    assert body["type"] == "budget_exceeded"
    assert body["message"].startswith("Budget has been exceeded!")


def test_virtual_key_rpm_limit_is_rate_limit_error(stack: Stack) -> None:
    with _as_key(stack, _new_key(stack, rpm_limit=1)) as c:
        c.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(openai.RateLimitError) as e:
            c.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hi"}])
    assert 1 <= int(e.value.response.headers["retry-after"]) <= 60


def test_virtual_key_model_access_is_permission_denied(stack: Stack) -> None:
    with _as_key(stack, _new_key(stack, models=["chat"])) as c:
        with pytest.raises(openai.PermissionDeniedError) as e:
            c.chat.completions.create(model="claude", messages=[{"role": "user", "content": "hi"}])
    assert _error_body(e.value)["type"] == "key_model_access_denied"


def test_deleted_virtual_key_is_authentication_error(stack: Stack) -> None:
    key = _new_key(stack)
    resp = httpx.post(
        stack.gateway_url + "/key/delete",
        headers={"Authorization": f"Bearer {MASTER_KEY}"},
        json={"keys": [key]},
        timeout=10.0,
    )
    assert resp.json() == {"deleted_keys": [key]}
    with _as_key(stack, key) as c:
        with pytest.raises(openai.AuthenticationError):
            c.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hi"}])
