"""LiteLLM compatibility: behaviours LiteLLM's own end-to-end proxy tests rely on, checked with
the official `openai` SDK and plain HTTP against switchyard, with our own wording and cases.

The gateway runs a config shaped like LiteLLM's `proxy_server_config.yaml` (named groups,
provider wildcards `anthropic/*` and `groq/*` beside a catch-all `*`), every deployment pointed
at one `switchyard-mock`. Binaries as in test_openai_sdk.py.

Run: pip install -r tests/python/requirements.txt && pytest -q tests/python
"""

from __future__ import annotations

import tempfile
import time
import uuid
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
  - model_name: gpt-3.5-turbo-end-user-test
    litellm_params:
      model: openai/gpt-3.5-turbo
      api_base: {base}
      api_key: sk-provider-secret
      region_name: us
    model_info:
      id: end-user-test-us
  - model_name: gpt-3.5-turbo-end-user-test
    litellm_params:
      model: openai/gpt-3.5-turbo
      api_base: {base}
      api_key: sk-provider-secret
      region_name: eu
    model_info:
      id: end-user-test-eu
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


def _start_gateway(tmp: str, config_text: str, procs: list[Proc]) -> Compat:
    """Write the config into `tmp` and start switchyard on it (its store lands in `tmp`)."""
    config = Path(tmp) / "config.yaml"
    config.write_text(config_text)
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
    return Compat(url=url, gateway=gw)


@pytest.fixture(scope="module")
def compat() -> Iterator[Compat]:
    procs: list[Proc] = []
    with tempfile.TemporaryDirectory(prefix="switchyard-compat-") as tmp:
        try:
            mock, base = _start_mock("compat")
            procs.append(mock)
            yield _start_gateway(tmp, _config(base), procs)
        finally:
            for proc in reversed(procs):
                proc.stop()


def test_named_groups_answer(compat: Compat) -> None:
    r = compat.client().chat.completions.create(
        model="gpt-3.5-turbo", messages=[{"role": "user", "content": "hi"}]
    )
    assert r.choices[0].message.content


# --- routing and mocks ---

HI = [{"role": "user", "content": "hi"}]


def test_provider_wildcard_wins_over_the_catch_all() -> None:
    # The catch-all listed first: LiteLLM orders patterns by specificity, not config order.
    procs: list[Proc] = []
    with tempfile.TemporaryDirectory(prefix="switchyard-wildcards-") as tmp:
        try:
            mock, base = _start_mock("wildcards")
            procs.append(mock)
            config_text = (
                "model_list:\n"
                + "".join(
                    f'  - model_name: "{name}"\n    litellm_params:\n      model: "{model}"\n'
                    f"      api_base: {base}\n      api_key: sk-provider-secret\n"
                    for name, model in (("*", "openai/*"), ("groq/*", "groq/*"), ("anthropic/*", "anthropic/*"))
                )
                + f"general_settings:\n  master_key: {MASTER}\n"
            )
            compat = _start_gateway(tmp, config_text, procs)
            client = compat.client()
            raw = client.chat.completions.with_raw_response.create(model="groq/llama-3.1-8b-instant", messages=HI)
            assert raw.headers["x-litellm-model-group"] == "groq/*"
            assert raw.parse().choices[0].message.content
            raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HI)
            assert raw.headers["x-litellm-model-group"] == "*"
        finally:
            for proc in reversed(procs):
                proc.stop()


def test_mock_response_is_answered_by_the_gateway_for_a_real_deployment(compat: Compat) -> None:
    client = compat.client()
    r = client.chat.completions.create(
        model="gpt-4", messages=HI, extra_body={"mock_response": "answered by the gateway"}
    )
    assert r.choices[0].message.content == "answered by the gateway"
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (10, 20)
    chunks = client.chat.completions.create(
        model="gpt-4",
        messages=HI,
        stream=True,
        extra_body={"mock_response": "streamed by the gateway"},
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
        "streamed by the gateway"
    )
    # In the client's own API shape.
    with compat.http() as http:
        m = http.post(
            "/v1/messages",
            json={"model": "gpt-4", "max_tokens": 16, "messages": HI, "mock_response": "as a message"},
        )
    assert m.status_code == 200, m.text
    assert m.json()["type"] == "message"
    assert m.json()["content"][0]["text"] == "as a message"


def test_mock_response_error_form_fails_like_litellm(compat: Compat) -> None:
    with pytest.raises(openai.RateLimitError) as e:
        compat.client().chat.completions.create(
            model="gpt-4",
            messages=HI,
            extra_body={"mock_response": "litellm.RateLimitError", "num_retries": 0},
        )
    assert "this is a mock rate limit error" in str(e.value)


def test_mock_testing_rate_limit_error_is_retried(compat: Compat) -> None:
    with compat.http() as http:
        r = http.post(
            "/chat/completions",
            json={
                "model": "fake-openai-endpoint",
                "messages": HI,
                "mock_testing_rate_limit_error": True,
                "num_retries": 3,
            },
        )
    assert r.status_code == 200, r.text
    assert r.headers["x-litellm-attempted-retries"] == "1"
    assert r.headers["x-litellm-max-retries"] == "3"


def test_mock_timeout_is_a_408_that_names_the_timeout(compat: Compat) -> None:
    with compat.http() as http:
        r = http.post(
            "/chat/completions",
            json={"model": "fake-openai-endpoint", "messages": HI, "mock_timeout": True, "num_retries": 0},
            headers={"x-litellm-timeout": "0.05"},
        )
    assert r.status_code == 408, r.text
    assert r.headers["x-litellm-timeout"] == "0.05"
    assert r.json()["error"]["message"] == "litellm.Timeout: This is a mock timeout error"


def test_every_model_answer_names_its_timeout(compat: Compat) -> None:
    raw = compat.client().chat.completions.with_raw_response.create(model="gpt-3.5-turbo", messages=HI)
    assert float(raw.headers["x-litellm-timeout"]) > 0


# --- metrics and model info ---


def _scrape(compat: Compat) -> str:
    with compat.http() as h:
        r = h.get("/metrics")
    assert r.status_code == 200, r.text
    return r.text


def test_counters_render_as_prometheus_client_does(compat: Compat) -> None:
    # LiteLLM's Counter("x") comes out of prometheus_client as `x_total` (HELP, TYPE, samples).
    compat.client().chat.completions.create(
        model="gpt-3.5-turbo", messages=[{"role": "user", "content": "count me"}]
    )
    text = _scrape(compat)
    for name in (
        "litellm_proxy_total_requests_metric",
        "litellm_deployment_success_responses",
        "litellm_input_tokens_metric",
        "litellm_output_tokens_metric",
        "litellm_total_tokens_metric",
    ):
        assert f"# TYPE {name}_total counter\n" in text, name
        samples = [line for line in text.splitlines() if line.startswith(f"{name}_total{{")]
        assert samples, name
        assert not any(line.startswith(f"{name}{{") for line in text.splitlines()), name
    success = [
        line
        for line in text.splitlines()
        if line.startswith("litellm_deployment_success_responses_total{")
        and 'model_id="gpt-35-deployment"' in line
    ]
    assert success and float(success[0].rsplit(" ", 1)[1]) >= 1, success
    # LiteLLM's deployment labels: the group asked for, the upstream model, the base URL.
    for label in ('requested_model="gpt-3.5-turbo"', 'litellm_model_name="gpt-3.5-turbo"',
                  'api_base="http://127.0.0.1:', 'api_provider="openai"'):
        assert label in success[0], (label, success[0])


def test_latency_histograms_use_litellm_buckets(compat: Compat) -> None:
    compat.client().chat.completions.create(
        model="gpt-4", messages=[{"role": "user", "content": "time me"}]
    )
    text = _scrape(compat)
    for name in ("litellm_request_total_latency_metric", "litellm_overhead_latency_metric"):
        les = [
            line.split('le="', 1)[1].split('"', 1)[0]
            for line in text.splitlines()
            if line.startswith(f"{name}_bucket{{") and '="gpt-4"' in line
        ]
        # LiteLLM's LATENCY_BUCKETS: 35 bounds from 5 ms to 300 s, then +Inf.
        assert len(les) == 36 and les[0] == "0.005" and les[1] == "0.00625", (name, les)
        assert les[-1] == "+Inf", (name, les)
        # Bounds are written as prometheus_client writes floats.
        assert "1.0" in les and "300.0" in les, (name, les)


def test_model_info_echoes_custom_keys(compat: Compat) -> None:
    with compat.http() as h:
        r = h.get("/model/info")
    assert r.status_code == 200, r.text
    rows = [m for m in r.json()["data"] if m["model_name"] == "gpt-3.5-turbo"]
    assert len(rows) == 1, rows
    info = rows[0]["model_info"]
    assert info["id"] == "gpt-35-deployment"
    assert info["supports_vision"] is False, info
    assert "sk-provider-secret" not in r.text


def test_model_group_info_expands_provider_wildcards(compat: Compat) -> None:
    with compat.http() as h:
        r = h.get("/model_group/info")
    assert r.status_code == 200, r.text
    groups = {g["model_group"]: g for g in r.json()["data"]}
    # The patterns themselves are not listed, only the models they stand for (as LiteLLM).
    assert not {"groq/*", "anthropic/*", "*"} & groups.keys(), sorted(groups)
    groq = [n for n in groups if n.startswith("groq/") and n != "groq/*"]
    claude = [n for n in groups if n.startswith("anthropic/claude")]
    assert groq and claude, sorted(groups)
    assert groups[claude[0]]["providers"] == ["anthropic"], groups[claude[0]]
    assert groups[claude[0]]["input_cost_per_token"] > 0, groups[claude[0]]
    # A bare `*` names no provider: it stands for no listed model.
    assert not any(n.startswith("*/") for n in groups)


def test_routes_lists_the_served_routes(compat: Compat) -> None:
    with compat.http() as h:
        r = h.get("/routes")
    assert r.status_code == 200, r.text
    routes = r.json()["routes"]
    by_path = {route["path"]: route for route in routes}
    assert set(by_path["/v1/chat/completions"]) == {"path", "methods", "name", "endpoint"}
    assert by_path["/v1/chat/completions"]["methods"] == ["POST"]
    for path in ("/chat/completions", "/v1/models", "/key/generate", "/model/info", "/routes"):
        assert path in by_path, path
    # Public, as LiteLLM's: the route list says nothing of the config.
    with httpx.Client(base_url=compat.url, timeout=30) as anonymous:
        assert anonymous.get("/routes").json() == r.json()


# --- management API ---


def _uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _ok(r: httpx.Response) -> dict:
    assert r.status_code == 200, r.text
    return r.json()


def test_a_key_reads_its_own_key_info_without_naming_it(compat: Compat) -> None:
    with compat.http() as admin:
        made = _ok(admin.post("/key/generate", json={}))
        other = _ok(admin.post("/key/generate", json={}))["key"]
    with compat.http(made["key"]) as me:
        for params in ({}, {"key": made["key"]}):
            assert _ok(me.get("/key/info", params=params))["info"]["token"] == made["token"]
        assert me.get("/key/info", params={"key": other}).status_code == 403
        # An unknown key is a 404 whoever asks (LiteLLM checks existence first).
        assert me.get("/key/info", params={"key": f"sk-{uuid.uuid4()}"}).status_code == 404


def test_a_team_key_reads_its_team_and_a_user_key_its_user(compat: Compat) -> None:
    team, stranger, user = _uid("team"), _uid("team"), _uid("user")
    with compat.http() as admin:
        _ok(admin.post("/team/new", json={"team_id": team}))
        _ok(admin.post("/team/new", json={"team_id": stranger}))
        _ok(admin.post("/user/new", json={"user_id": user, "auto_create_key": False}))
        key = _ok(admin.post("/key/generate", json={"team_id": team, "user_id": user}))["key"]
        _ok(admin.post("/key/generate", json={"team_id": team}))
    with compat.http(key) as me:
        info = _ok(me.get("/team/info", params={"team_id": team}))
        assert info["team_id"] == team
        assert len(info["keys"]) == 1, "only its own key of the team"
        assert me.get("/team/info", params={"team_id": stranger}).status_code == 403
        assert _ok(me.get("/user/info"))["user_id"] == user
        assert me.get("/user/info", params={"user_id": "someone-else"}).status_code == 403


def test_null_clears_a_key_limit_and_absent_fields_stay(compat: Compat) -> None:
    with compat.http() as admin:
        key = _ok(admin.post("/key/generate", json={"max_budget": 5, "tpm_limit": 100}))["key"]
        v = _ok(admin.post("/key/update", json={"key": key, "max_budget": None}))
        assert v["max_budget"] is None
        assert v["tpm_limit"] == 100
        team = _uid("team")
        _ok(admin.post("/team/new", json={"team_id": team, "max_budget": 5, "rpm_limit": 10}))
        v = _ok(admin.post("/team/update", json={"team_id": team, "rpm_limit": None}))
        assert v["rpm_limit"] is None
        assert v["max_budget"] == 5


def test_user_update_of_an_unknown_user_creates_it(compat: Compat) -> None:
    user = _uid("user")
    with compat.http() as admin:
        v = _ok(admin.post("/user/update", json={"user_id": user, "user_alias": "upserted"}))
        assert v["user_id"] == user
        assert _ok(admin.get("/user/info", params={"user_id": user}))["user_info"]["user_alias"] == "upserted"


def test_user_new_with_a_team_joins_it_and_its_key_is_the_teams(compat: Compat) -> None:
    team, user = _uid("team"), _uid("user")
    with compat.http() as admin:
        _ok(admin.post("/team/new", json={"team_id": team}))
        key = _ok(admin.post("/user/new", json={"user_id": user, "team_id": team}))["key"]
        assert _ok(admin.get("/key/info", params={"key": key}))["info"]["team_id"] == team
        members = _ok(admin.get("/team/info", params={"team_id": team}))["team_info"]["members_with_roles"]
        # The master key made the team: it is there as LiteLLM's `default_user_id` admin.
        assert sorted(m["user_id"] for m in members) == sorted([user, "default_user_id"])


def test_a_team_made_by_an_admin_key_has_its_creator_as_admin(compat: Compat) -> None:
    user = _uid("admin")
    with compat.http() as admin:
        _ok(admin.post("/user/new", json={"user_id": user, "user_role": "proxy_admin", "auto_create_key": False}))
        key = _ok(admin.post("/key/generate", json={"user_id": user}))["key"]
    with compat.http(key) as creator:
        team = _ok(creator.post("/team/new", json={"team_alias": _uid("made")}))
    assert [(m["user_id"], m["role"]) for m in team["members_with_roles"]] == [(user, "admin")]


def test_member_delete_of_a_non_member_is_a_400(compat: Compat) -> None:
    team = _uid("team")
    with compat.http() as admin:
        _ok(admin.post("/team/new", json={"team_id": team}))
        r = admin.post("/team/member_delete", json={"team_id": team, "user_id": "not-a-member"})
    assert r.status_code == 400, r.text
    assert "User not found in team" in r.json()["error"]["message"]


def test_a_model_the_team_forbids_is_team_model_access_denied(compat: Compat) -> None:
    team = _uid("team")
    with compat.http() as admin:
        _ok(admin.post("/team/new", json={"team_id": team, "models": ["gpt-3.5-turbo"]}))
        key = _ok(admin.post("/key/generate", json={"team_id": team}))["key"]
    with pytest.raises(openai.PermissionDeniedError) as e:
        compat.client(key).chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "hi"}])
    body = e.value.response.json()["error"]
    assert body["type"] == "team_model_access_denied"
    # 1.109.1's client wording: it names the model asked for, not what the team may use.
    assert body["message"] == (
        "The requested model 'gpt-4' is not available for this API key, or the model name is invalid. "
        "Check the models available to you and try again."
    )


def test_an_end_user_with_a_region_is_served_only_there(compat: Compat) -> None:
    end_user = _uid("eu-customer")
    with compat.http() as admin:
        _ok(admin.post("/end_user/new", json={"user_id": end_user, "allowed_model_region": "eu"}))
        key = _ok(admin.post("/key/generate", json={"models": ["gpt-3.5-turbo-end-user-test"]}))["key"]
    for _ in range(4):
        raw = compat.client(key).chat.completions.with_raw_response.create(
            model="gpt-3.5-turbo-end-user-test",
            messages=[{"role": "user", "content": "Hey!"}],
            user=end_user,
        )
        assert raw.headers["x-litellm-model-region"] == "eu"
        assert raw.headers["x-litellm-model-id"] == "end-user-test-eu"


@pytest.mark.parametrize("has_access", [True, False])
def test_a_fallback_entry_with_its_own_messages(compat: Compat, has_access: bool) -> None:
    models = ["gpt-3.5-turbo", "gpt-4"] if has_access else ["gpt-3.5-turbo"]
    with compat.http() as admin:
        key = _ok(admin.post("/key/generate", json={"models": models}))["key"]
    body = {
        "model": "gpt-3.5-turbo",
        "messages": [{"role": "user", "content": "Who was Alexander?"}],
        "mock_testing_fallbacks": True,
        "fallbacks": [{"model": "gpt-4", "messages": [{"role": "assistant", "content": "custom"}]}],
    }
    with compat.http(key) as me:
        r = me.post("/chat/completions", json=body)
    if has_access:
        assert r.status_code == 200, r.text
        assert r.headers["x-litellm-model-group"] == "gpt-4"
        assert r.headers["x-litellm-attempted-fallbacks"] == "1"
    else:
        # The fallback the key may not use is skipped: the simulated failure stands.
        assert r.status_code == 500, r.text
        assert "mock_testing_fallbacks" in r.json()["error"]["message"]


def test_duration_minus_one_is_a_key_that_never_expires(compat: Compat) -> None:
    with compat.http() as admin:
        made = _ok(admin.post("/key/generate", json={"duration": "-1"}))
        assert made["expires"] is None
        _ok(admin.post("/key/update", json={"key": made["key"], "duration": "1h"}))
        assert _ok(admin.get("/key/info", params={"key": made["key"]}))["info"]["expires"] is not None
        _ok(admin.post("/key/update", json={"key": made["key"], "duration": "-1"}))
        assert _ok(admin.get("/key/info", params={"key": made["key"]}))["info"]["expires"] is None


def test_only_model_access_groups_lists_no_plain_models(compat: Compat) -> None:
    with compat.http() as admin:
        key = _ok(admin.post("/key/generate", json={}))["key"]
    with compat.http(key) as me:
        assert len(_ok(me.get("/models"))["data"]) > 0
        for flag in ("True", "true", "1"):
            assert _ok(me.get("/models", params={"only_model_access_groups": flag}))["data"] == []
        assert len(_ok(me.get("/models", params={"only_model_access_groups": "False"}))["data"]) > 0


def test_comma_separated_models_answer_one_completion_each(compat: Compat) -> None:
    body = {"model": "gpt-3.5-turbo,fake-openai-endpoint", "messages": [{"role": "user", "content": "Hello!"}]}
    with compat.http() as admin:
        answers = _ok(admin.post("/chat/completions", json=body))
    assert isinstance(answers, list) and len(answers) == 2
    assert [a["object"] for a in answers] == ["chat.completion", "chat.completion"]


# --- organizations ---


def test_an_organization_and_its_members_answer_in_litellm_shapes(compat: Compat) -> None:
    # The calls of LiteLLM's tests/test_organizations.py: PATCH and DELETE carry JSON bodies.
    with compat.http() as admin:
        org = _ok(admin.post("/organization/new", json={"organization_alias": _uid("org"), "models": ["gpt-4"],
                                                        "max_budget": 5}))
        org_id = org["organization_id"]
        assert org["litellm_budget_table"]["max_budget"] == 5
        assert org["litellm_budget_table"]["budget_id"] == org["budget_id"]
        listed = _ok(admin.get("/organization/list", params={"org_id": org_id}))
        assert [o["organization_id"] for o in listed] == [org_id]
        assert listed[0]["litellm_budget_table"] is not None and listed[0]["members"] == []
        user = _ok(admin.post("/user/new", json={"user_email": f"{_uid('u')}@example.com"}))["user_id"]
        added = _ok(admin.post("/organization/member_add",
                               json={"organization_id": org_id, "member": {"user_id": user, "role": "internal_user"}}))
        assert added["updated_organization_memberships"][0]["user_role"] == "internal_user"
        member = _ok(admin.patch("/organization/member_update",
                                 json={"organization_id": org_id, "user_id": user, "role": "org_admin"}))
        assert (member["user_id"], member["user_role"]) == (user, "org_admin")
        info = _ok(admin.get("/organization/info", params={"organization_id": org_id}))
        assert [m["user_id"] for m in info["members"]] == [user]
        assert _ok(admin.post("/organization/info", json={"organizations": [org_id]}))[0]["organization_id"] == org_id
        _ok(admin.request("DELETE", "/organization/member_delete", json={"organization_id": org_id, "user_id": user}))
        deleted = _ok(admin.request("DELETE", "/organization/delete", json={"organization_ids": [org_id]}))
        assert [o["organization_id"] for o in deleted] == [org_id]
        assert admin.get("/organization/info", params={"organization_id": org_id}).status_code == 404


def test_a_team_in_an_organization_is_held_to_its_models_and_budget(compat: Compat) -> None:
    with compat.http() as admin:
        org_id = _ok(admin.post("/organization/new", json={"organization_alias": _uid("org"), "models": ["gpt-4"],
                                                           "max_budget": 0}))["organization_id"]
        r = admin.post("/team/new", json={"organization_id": org_id, "models": ["gpt-3.5-turbo"]})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["message"] == (
            "Model 'gpt-3.5-turbo' not in organization's allowed models. "
            f"Organization allowed models=['gpt-4']. Organization: {org_id}"
        )
        team = _ok(admin.post("/team/new", json={"organization_id": org_id}))
        assert _ok(admin.get("/team/info", params={"team_id": team["team_id"]}))["team_info"]["organization_id"] == org_id
        key = _ok(admin.post("/key/generate", json={"team_id": team["team_id"]}))["key"]
    hi = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.PermissionDeniedError) as denied:
        compat.client(key).chat.completions.create(model="gpt-3.5-turbo", messages=hi)
    assert denied.value.response.json()["error"]["type"] == "org_model_access_denied"
    with pytest.raises(openai.BadRequestError) as over:
        compat.client(key).chat.completions.create(model="gpt-4", messages=hi)
    body = over.value.response.json()["error"]
    assert body["type"] == "budget_exceeded"
    assert body["message"].startswith(f"Budget has been exceeded! Organization={org_id} Current cost: 0")


def test_readiness_details_answer_any_key_and_no_one_else(compat: Compat) -> None:
    with compat.http() as admin:
        key = _ok(admin.post("/key/generate", json={}))["key"]
    with compat.http(key) as me:
        details = _ok(me.get("/health/readiness/details"))
    assert details["status"] == "healthy"
    assert {"db", "cache", "litellm_version"} <= details.keys()
    assert httpx.get(compat.url + "/health/readiness/details").status_code == 401


def _spend_rows(admin: httpx.Client, request_id: str, timeout: float = 10.0) -> list[dict]:
    """`/spend/logs?request_id=` once the row is written (rows are written in batches)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = _ok(admin.get("/spend/logs", params={"request_id": request_id}))
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def test_spend_logs_are_found_by_the_answers_id_and_name_the_organization(compat: Compat) -> None:
    # LiteLLM's test_spend_logs_with_org_id and test_key_info_spend_values look rows up by
    # the chat answer's `id`.
    with compat.http() as admin:
        org_id = _ok(admin.post("/organization/new", json={"organization_alias": _uid("org")}))["organization_id"]
        team_id = _ok(admin.post("/team/new", json={"organization_id": org_id}))["team_id"]
        key = _ok(admin.post("/key/generate", json={"team_id": team_id}))["key"]
        raw = compat.client(key).chat.completions.with_raw_response.create(
            model="gpt-4", messages=[{"role": "user", "content": "hi"}])
        answer = raw.parse()
        rows = _spend_rows(admin, answer.id)
        assert len(rows) == 1, rows
        row = rows[0]
        assert row["request_id"] == answer.id
        assert row["litellm_call_id"] == raw.headers["x-litellm-call-id"]
        assert (row["team_id"], row["organization_id"]) == (team_id, org_id)
        assert row["metadata"]["user_api_key_org_id"] == org_id
        assert row["metadata"]["user_api_key_team_id"] == team_id
        assert row["total_tokens"] == answer.usage.total_tokens
        # The call id still finds the same row.
        assert _spend_rows(admin, raw.headers["x-litellm-call-id"]) == rows
