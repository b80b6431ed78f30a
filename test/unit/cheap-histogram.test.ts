/**
 * gateway/ops/cheap-histogram.ts: the same observations give the same /metrics text, and the same
 * JSON, as prom-client's own Counter and Histogram.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { CheapHistogram } from '../../gateway/ops/cheap-histogram';

const BUS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Observations by (method, route, status): on a bound, between, beyond the last, 0, in turns. */
const REQUESTS: Array<[string, string, string, number]> = [
  ['POST', '/post', '200', 0.0012],
  ['GET', '/', '200', 0.005],
  ['POST', '/post', '200', 0.25],
  ['GET', 'unmatched', '404', 0],
  ['POST', '/post', '500', 11],
  ['POST', '/post', '200', 0.1 + 0.2],
  ['GET', '/', '200', 10],
  ['GET', '/v1/channels/:name', '200', 0.0049999],
];
const CALLS: Array<[string, string, string, number]> = [
  ['Messages', 'Post', 'ok', 0.0004],
  ['Auth', 'Resolve', 'AGORA_ERR_AUTH_BAD_SESSION', 0.003],
  ['Messages', 'Post', 'ok', 0.0005],
  ['Messages', 'Post', 'AGORA_ERR_BUS_TIMEOUT', 5.0001],
];

test("the text and the JSON are prom-client's, observation for observation", async () => {
  const theirs = new Registry();
  const counter = new Counter({
    name: 'agora_http_requests_total',
    help: 'HTTP requests answered',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [theirs],
  });
  const requests = new Histogram({
    name: 'agora_http_request_duration_seconds',
    help: 'Time to answer an HTTP request',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [theirs],
  });
  const calls = new Histogram({
    name: 'agora_bus_call_duration_seconds',
    help: 'Bus calls, by outcome',
    labelNames: ['service', 'method', 'outcome'] as const,
    buckets: BUS_BUCKETS,
    registers: [theirs],
  });
  const ours = new Registry();
  const cheapRequests = new CheapHistogram('agora_http_request_duration_seconds', 'Time to answer an HTTP request', [
    'method',
    'route',
    'status',
  ])
    .registerCounter(ours, 'agora_http_requests_total', 'HTTP requests answered')
    .register(ours);
  const cheapCalls = new CheapHistogram(
    'agora_bus_call_duration_seconds',
    'Bus calls, by outcome',
    ['service', 'method', 'outcome'],
    BUS_BUCKETS,
  ).register(ours);
  for (const [method, route, status, seconds] of REQUESTS) {
    counter.inc({ method, route, status });
    requests.observe({ method, route, status }, seconds);
    cheapRequests.observe(cheapRequests.cell(method, route, status), seconds);
  }
  for (const [service, method, outcome, seconds] of CALLS) {
    calls.observe({ service, method, outcome }, seconds);
    cheapCalls.observe(cheapCalls.cell(service, method, outcome), seconds);
  }
  const text = await ours.metrics();
  assert.equal(text, await theirs.metrics());
  assert.match(text, /^agora_http_requests_total\{method="POST",route="\/post",status="200"\} 3$/m);
  assert.match(
    text,
    /^agora_bus_call_duration_seconds_bucket\{le="0.0005",service="Messages",method="Post",outcome="ok"\} 2$/m,
  );
  assert.deepEqual(await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON());
});

test('label values that only differ where they would be joined keep their own cells', () => {
  const h = new CheapHistogram('h', 'h', ['service', 'method', 'outcome']);
  h.observe(h.cell('a b', 'c', 'ok'), 1);
  h.observe(h.cell('a', 'b c', 'ok'), 2);
  assert.deepEqual(h.cell('a b', 'c', 'ok').labels, { service: 'a b', method: 'c', outcome: 'ok' });
  assert.equal(h.cell('a b', 'c', 'ok').sum, 1);
  assert.equal(h.cell('a', 'b c', 'ok').sum, 2);
});
