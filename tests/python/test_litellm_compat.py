"""LiteLLM compatibility: behaviours LiteLLM's own end-to-end proxy tests rely on, checked with
the official `openai` SDK and plain HTTP against switchyard, with our own wording and cases.

The gateway runs a config shaped like LiteLLM's `proxy_server_config.yaml` (named groups,
provider wildcards `anthropic/*` and `groq/*` beside a catch-all `*`), every deployment pointed
at one `switchyard-mock`. Binaries as in test_openai_sdk.py.

Run: pip install -r tests/python/requirements.txt && pytest -q tests/python
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest

from test_openai_sdk import SWITCHYARD_BIN, Proc, _spawn, _start_mock, _wait_ready

MASTER = "sk-1234-compat-0123456789"


def _config(base: str) -> str:
    return f"""\
model_list:
  - model_name: gpt-3.5-turbo
    litellm_params:
      model: openai/gpt-3.5-turbo
      api_base: {base}
      api_key: sk-provider-secret
    model_info:
      id: gpt-35-deployment
      supports_vision: false
  - model_name: gpt-4
    litellm_params:
      model: openai/gpt-4
      api_base: {base}
      api_key: sk-provider-secret
  - model_name: fake-openai-endpoint
    litellm_params:
      model: openai/fake
      api_base: {base}
      api_key: sk-provider-secret
  - model_name: "anthropic/*"
    litellm_params:
      model: "anthropic/*"
      api_base: {base}
      api_key: sk-provider-secret
  - model_name: "groq/*"
    litellm_params:
      model: "groq/*"
      api_base: {base}
      api_key: sk-provider-secret
  - model_name: "*"
    litellm_params:
      model: "openai/*"
      api_base: {base}
      api_key: sk-provider-secret

general_settings:
  master_key: {MASTER}
"""


@dataclass
class Compat:
    url: str  # http://127.0.0.1:PORT
    gateway: Proc

    def client(self, key: str = MASTER) -> openai.OpenAI:
        return openai.OpenAI(api_key=key, base_url=self.url + "/v1", max_retries=0)

    def http(self, key: str = MASTER) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


@pytest.fixture(scope="module")
def compat() -> Iterator[Compat]:
    procs: list[Proc] = []
    with tempfile.TemporaryDirectory(prefix="switchyard-compat-") as tmp:
        try:
            mock, base = _start_mock("compat")
            procs.append(mock)
            config = Path(tmp) / "config.yaml"
            config.write_text(_config(base))
            gw = _spawn(
                "switchyard",
                [str(SWITCHYARD_BIN), "--config", str(config), "--host", "127.0.0.1", "--port", "0",
                 "--num-workers", "2"],
                watch="stderr",
                cwd=tmp,
            )
            procs.append(gw)
            port = gw.wait_for(r"listening on http://127\.0\.0\.1:(\d+)").group(1)
            gw.wait_for(r"ready: SIGHUP")
            url = f"http://127.0.0.1:{port}"
            _wait_ready(url, gw)
            yield Compat(url=url, gateway=gw)
        finally:
            for proc in reversed(procs):
                proc.stop()


def test_named_groups_answer(compat: Compat) -> None:
    r = compat.client().chat.completions.create(
        model="gpt-3.5-turbo", messages=[{"role": "user", "content": "hi"}]
    )
    assert r.choices[0].message.content
