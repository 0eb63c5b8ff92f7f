/**
 * HTTP loads over kept-alive connections. Closed loop (`load`): `clients` at once for `seconds`,
 * each request after the previous one answered; it saturates the server, so its percentiles are
 * mostly the server's throughput. Open loop (`loadAtRate`): requests arrive at random times at a
 * given mean rate whether or not earlier ones were answered, as independent users' requests do;
 * each latency counts from when its request was due, so a stalled server is not hidden. Node's own `http` rather than `fetch`: on this machine the
 * client shares Marina's two cores, and `fetch` spent about twice the CPU per request (1.4 against
 * 0.7 ms for a 36 KiB page, measured from /proc), time Marina then lacked.
 */
import { Agent, get } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { ms, percentile } from './report.js';

export interface LoadResult {
  requests: number;
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
  bytes: number;
}

const summary = (latencies: number[], seconds: number, bytes: number): LoadResult => ({
  requests: latencies.length,
  perSecond: latencies.length / seconds,
  p50: percentile(latencies, 50),
  p95: percentile(latencies, 95),
  p99: percentile(latencies, 99),
  bytes,
});

export async function load(
  url: string,
  headers: Record<string, string>,
  clients: number,
  seconds: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let bytes = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  try {
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (performance.now() < end) {
          const began = performance.now();
          const { status, length } = await getOnce(url, headers, agent);
          if (status !== 200) throw new Error(`GET ${url} answered ${status}`);
          latencies.push(performance.now() - began);
          bytes = length;
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return summary(latencies, (performance.now() - start) / 1000, bytes);
}

export async function loadAtRate(
  url: string,
  headers: Record<string, string>,
  perSecond: number,
  seconds: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const answered: Promise<void>[] = [];
  let bytes = 0;
  const agent = new Agent({ keepAlive: true });
  const start = performance.now();
  const end = start + seconds * 1000;
  try {
    // Exponential gaps: arrivals of a Poisson process, the usual model of many independent clients.
    for (let due = start; due < end; due += (-Math.log(1 - Math.random()) * 1000) / perSecond) {
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const from = due;
      answered.push(
        getOnce(url, headers, agent).then(({ status, length }) => {
          if (status !== 200) throw new Error(`GET ${url} answered ${status}`);
          latencies.push(performance.now() - from);
          bytes = length;
        }),
      );
    }
    await Promise.all(answered);
  } finally {
    agent.destroy();
  }
  return summary(latencies, seconds, bytes);
}

function getOnce(url: string, headers: Record<string, string>, agent: Agent) {
  return new Promise<{ status: number; length: number }>((resolve, reject) => {
    get(url, { headers, agent }, (response) => {
      let length = 0;
      response.on('data', (chunk: Buffer) => {
        length += chunk.length;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, length }));
      response.on('error', reject);
    }).on('error', reject);
  });
}

export const describeLoad = (r: LoadResult): string =>
  `p50 ${ms(r.p50)} / p95 ${ms(r.p95)} / p99 ${ms(r.p99)}, ${Math.round(r.perSecond)} req/s, ${Math.round(r.bytes / 1024)} KiB`;
