// k6-chat.js: open-model load on /v1/chat/completions: a constant-arrival-rate chat scenario and a streaming scenario.
//
// Environment (all optional):
//   BASE_URL       gateway base URL, default http://127.0.0.1:4000/v1
//   API_KEY        bearer key, default sk-loadtest-0123456789
//   MODEL          model group, default loadtest
//   RATE           chat requests per second, default 200
//   STREAM_RATE    streaming requests per second, default 50
//   DURATION       each scenario's duration, default 30s
//   MAX_VUS        upper bound of VUs per scenario, default 500
// k6 reads whole bodies (no per-chunk timing), so http_req_waiting is time to first byte and
// http_req_duration is time to the end of the stream.

import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:4000/v1';
const API_KEY = __ENV.API_KEY || 'sk-loadtest-0123456789';
const MODEL = __ENV.MODEL || 'loadtest';
const DURATION = __ENV.DURATION || '30s';
const MAX_VUS = parseInt(__ENV.MAX_VUS || '500', 10);

const base = JSON.parse(open('./body-chat.json'));
base.model = MODEL;
const CHAT_BODY = JSON.stringify(Object.assign({}, base, { stream: false }));
const STREAM_BODY = JSON.stringify(
  Object.assign({}, base, { stream: true, stream_options: { include_usage: true } }),
);
const PARAMS = {
  headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
  timeout: '60s',
};

const streamsWithoutDone = new Counter('streams_without_done');

export const options = {
  discardResponseBodies: false,
  scenarios: {
    chat: {
      executor: 'constant-arrival-rate',
      exec: 'chat',
      rate: parseInt(__ENV.RATE || '200', 10),
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: 50,
      maxVUs: MAX_VUS,
      tags: { mode: 'chat' },
    },
    stream: {
      executor: 'constant-arrival-rate',
      exec: 'stream',
      rate: parseInt(__ENV.STREAM_RATE || '50', 10),
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: 20,
      maxVUs: MAX_VUS,
      tags: { mode: 'stream' },
    },
  },
  thresholds: {
    'http_req_failed': ['rate<0.01'],
    'http_req_duration{mode:chat}': ['p(99)<500'],
    'http_req_waiting{mode:stream}': ['p(99)<500'],
    'streams_without_done': ['count<1'],
    'checks': ['rate>0.99'],
  },
};

export function chat() {
  const res = http.post(`${BASE_URL}/chat/completions`, CHAT_BODY, PARAMS);
  check(res, {
    'chat: status 200': (r) => r.status === 200,
    'chat: has choices': (r) => r.status === 200 && r.json('choices.0.message.content') !== undefined,
  });
}

export function stream() {
  const res = http.post(`${BASE_URL}/chat/completions`, STREAM_BODY, PARAMS);
  const done = typeof res.body === 'string' && res.body.includes('data: [DONE]');
  if (!done) {
    streamsWithoutDone.add(1);
  }
  check(res, {
    'stream: status 200': (r) => r.status === 200,
    'stream: event-stream': (r) => (r.headers['Content-Type'] || '').startsWith('text/event-stream'),
    'stream: ends with [DONE]': () => done,
  });
}

// Run it (from the repository root, gateway on :4000):
//   k6 run -e BASE_URL=http://127.0.0.1:4000/v1 -e API_KEY=sk-loadtest-0123456789 -e RATE=200 loadtest/k6-chat.js
