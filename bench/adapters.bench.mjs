// Adapters: what an untriggered request pays, in process and under load over loopback, and
// whether traced requests stay isolated under concurrency without leaking memory.
//
// 1. In process: Hono's app.fetch with and without the middleware; the Express middleware call
//    alone (the trigger check) against calling next() directly.
// 2. Load (issue 6): real Express and Fastify servers in a child process; 100 concurrent
//    keep-alive clients. Untriggered req/s with vs without the middleware in interleaved rounds;
//    then 10,000 requests half triggered (every traced response must hold only its own
//    request's entity, no request may fail) and 10,000 all triggered; heap after forced GC
//    before and after.
// 3. Always-on recording (issue 19): every request traced into a flight recorder (`record`),
//    none exposed, against no middleware, while the ring fills and once it has turned over; on
//    this Node, on the machine's Node 20 and on Node 22 (npm's node@22, fetched into bench/tmp),
//    where an active trace turns on promise hooks for the whole process.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { Agent, IncomingMessage, request, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { stepmarkMiddleware as honoMiddleware } from 'stepmark/hono';
import { stepmarkMiddleware as httpMiddleware } from 'stepmark/http';

import { cpuCompare, median, middleHalf } from './cpu.mjs';

const here = dirname(fileURLToPath(import.meta.url));

export default async function (h) {
  await inProcess(h);
  // STEPMARK_BENCH_NO_LOAD=1 keeps to the in-process figures (seconds instead of a minute or two).
  if (process.env.STEPMARK_BENCH_NO_LOAD === '1') return;
  for (const framework of ['express', 'fastify']) await load(h, framework);
  // Node 22 twice: as it runs by default (promise hooks), and with AsyncContextFrame turned on
  // by its flag (no hooks, as on Node 24), the way to record on Node 22 without the tax.
  const runtimes = [
    [process.execPath],
    ['/usr/bin/node'],
    [node22()],
    [node22(), '--experimental-async-context-frame'],
  ];
  for (const [node, ...flags] of runtimes) {
    for (const framework of ['express', 'fastify']) await recorded(h, framework, node, flags);
  }
}

/**
 * A Node 22 binary for the recorded-server rows (Node 22 has the promise-hook tax too): the npm
 * package `node@22`, installed once into bench/tmp. Unavailable offline: its rows then say so.
 */
function node22() {
  const prefix = join(here, 'tmp', 'node22');
  const bin = join(prefix, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(bin)) {
    try {
      mkdirSync(prefix, { recursive: true });
      execFileSync(
        'npm',
        ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', 'node@22'],
        {
          stdio: 'ignore',
        },
      );
    } catch {
      // reported as unavailable by `recorded`
    }
  }
  return bin;
}

async function inProcess(h) {
  const handler = (c) => c.json({ ok: true });
  const plain = new Hono().get('/orders/:id', handler);
  const traced = new Hono();
  traced.use(honoMiddleware({ onFinish: () => {} }));
  traced.get('/orders/:id', handler);
  const req = () => new Request('http://x/orders/1', { headers: { accept: 'application/json' } });
  await cpuCompare(
    h,
    'hono app.fetch, untriggered request: with stepmark vs without',
    {
      baseline: async () => (await plain.fetch(req())).text(),
      subject: async () => (await traced.fetch(req())).text(),
    },
    {
      target: '<= 1.10',
      note: 'whole in-process request: Request, routing, JSON response, body read',
    },
  );
  const noop = new Hono();
  noop.use((_c, next) => next());
  noop.get('/orders/:id', handler);
  await cpuCompare(
    h,
    'hono, untriggered: stepmark vs a no-op middleware in its place',
    {
      baseline: async () => (await noop.fetch(req())).text(),
      subject: async () => (await traced.fetch(req())).text(),
    },
    { target: '<= 1.02', note: "separates stepmark's check from Hono's cost of one more middleware" },
  );

  // Express, Koa and Fastify in process through light-my-request (Fastify's inject): a real
  // request and response object pair, no sockets, so the figure is CPU only.
  let inject;
  try {
    ({ inject } = await import('light-my-request'));
  } catch {
    h.report('express/koa in-process ratios', 'skipped', '', {
      note: 'light-my-request (a Fastify dependency) not found',
    });
  }
  if (inject) {
    const express = (await import('express')).default;
    const expressApp = (traced, noop = false) => {
      const app = express();
      if (traced) app.use(httpMiddleware({ onFinish: () => {} }));
      if (noop) app.use((_req, _res, next) => next());
      app.get('/orders/:id', (req, res) => res.json({ id: req.params.id }));
      return app;
    };
    const plainExpress = expressApp(false);
    const tracedExpress = expressApp(true);
    await cpuCompare(
      h,
      'express, untriggered request in process: with stepmark vs without',
      {
        baseline: () => inject(plainExpress, { url: '/orders/1' }),
        subject: () => inject(tracedExpress, { url: '/orders/1' }),
      },
      { target: '<= 1.05', note: 'light-my-request: routing, JSON response, no sockets' },
    );
    const noopExpress = expressApp(false, true);
    await cpuCompare(
      h,
      'express, untriggered: stepmark vs a no-op middleware in its place',
      {
        baseline: () => inject(noopExpress, { url: '/orders/1' }),
        subject: () => inject(tracedExpress, { url: '/orders/1' }),
      },
      {
        target: '<= 1.02',
        note: "separates stepmark's check from Express's cost of one more layer",
      },
    );
    const Koa = (await import('koa')).default;
    const { stepmarkMiddleware: koaMiddleware } = await import('stepmark/koa');
    const koaApp = (traced) => {
      const app = new Koa();
      if (traced) app.use(koaMiddleware({ onFinish: () => {} }));
      app.use((ctx) => {
        ctx.body = { id: ctx.path.slice(8) };
      });
      return app.callback();
    };
    const plainKoa = koaApp(false);
    const tracedKoa = koaApp(true);
    await cpuCompare(
      h,
      'koa, untriggered request in process: with stepmark vs without',
      {
        baseline: () => inject(plainKoa, { url: '/orders/1' }),
        subject: () => inject(tracedKoa, { url: '/orders/1' }),
      },
      { target: '<= 1.05', note: 'light-my-request' },
    );
  }
  const Fastify = (await import('fastify')).default;
  const { stepmarkPlugin } = await import('stepmark/fastify');
  const fastifyApp = async (traced) => {
    const app = Fastify();
    if (traced) await app.register(stepmarkPlugin, { onFinish: () => {} });
    app.get('/orders/:id', async (req) => ({ id: req.params.id }));
    await app.ready();
    return app;
  };
  const plainFastify = await fastifyApp(false);
  const tracedFastify = await fastifyApp(true);
  await cpuCompare(
    h,
    'fastify, untriggered request in process (inject): with stepmark vs without',
    {
      baseline: () => plainFastify.inject({ url: '/orders/1' }),
      subject: () => tracedFastify.inject({ url: '/orders/1' }),
    },
    {
      target: '<= 1.05',
      note: 'fastify.inject: routing, hooks, JSON serialisation, no sockets',
    },
  );

  const mw = httpMiddleware({ onFinish: () => {} });
  const message = new IncomingMessage(new Socket());
  message.headers = { host: 'x', accept: '*/*', 'user-agent': 'bench' };
  message.url = '/orders/1';
  message.method = 'GET';
  const res = new ServerResponse(message);
  let calls = 0;
  const next = () => {
    calls++;
  };
  await cpuCompare(
    h,
    'stepmark/http middleware call, untriggered: mw(req, res, next) vs next()',
    { baseline: () => next(), subject: () => mw(message, res, next) },
    { note: 'the bare cost of the trigger check (one header lookup); compare the ns, not the ratio' },
  );
  if (calls === 0) throw new Error('next never called');
}

function startServer(framework, variant, node = process.execPath, flags = []) {
  const child = spawn(
    node,
    [...flags, '--expose-gc', join(here, 'adapters.load-server.mjs'), framework, variant],
    {
      cwd: join(here, '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`${framework} server exited with ${code}`)));
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ child, ...JSON.parse(out.slice(0, nl)) });
    });
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: 100 });

function get(port, path, headers) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

let seq = 0;
/** Sends `total` requests, 100 at a time; `trigger(i)` picks the triggered ones. Returns req/s and checks. */
async function blast(port, total, trigger) {
  const result = { failed: 0, crossTalk: 0, traced: 0 };
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const id = `r${seq++}`;
      const triggered = trigger(i);
      try {
        const r = await get(port, `/order/${id}`, triggered ? { 'x-stepmark': '1' } : {});
        if (r.status !== 200) result.failed++;
        const header = r.headers['x-stepmark-trace'];
        if (triggered) {
          const trace = JSON.parse(header);
          const keys = Object.keys(trace.entities);
          const events = trace.entities[`order_${id}`]?.events.length;
          if (keys.length !== 1 || keys[0] !== `order_${id}` || events !== 3) result.crossTalk++;
          result.traced++;
        } else if (header !== undefined) result.crossTalk++;
      } catch {
        result.failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: 100 }, worker));
  result.rps = (total * 1000) / (performance.now() - t0);
  return result;
}

async function heap(port) {
  return JSON.parse((await get(port, '/__mem', {})).body).heapUsed;
}

async function cpu(port) {
  return JSON.parse((await get(port, '/__cpu', {})).body).us;
}

/** Server CPU time per request (µs) over one blast, and the blast's result. */
async function measured(port, total, trigger) {
  const before = await cpu(port);
  const result = await blast(port, total, trigger);
  result.cpuPerRequest = ((await cpu(port)) - before) / total;
  return result;
}

/**
 * Throughput of `record` (every request traced and recorded into the default 64 MiB ring) against
 * no middleware, on `node` (started with `flags`), in two phases: while the ring still fills (its first 44,000 requests:
 * fresh chunks, growing indexes) and once it has turned over (evicting as it adds, what a server
 * that has been up a while pays). Both servers get the same requests in both phases, so both are
 * as warm.
 */
async function recorded(h, framework, node, flags = []) {
  const variants = ['plain', 'recorded'];
  const servers = [];
  let version;
  try {
    version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    for (const v of variants) servers.push(await startServer(framework, v, node, flags));
  } catch (error) {
    h.report(`${framework}: recorded throughput on ${node}`, 'unavailable', '', {
      note: String(error?.message ?? error).slice(0, 100),
    });
    return;
  } finally {
    if (servers.length < variants.length) for (const s of servers) s.child.kill();
  }
  try {
    const port = Object.fromEntries(variants.map((v, i) => [v, servers[i].port]));
    const perRound = h.quick ? 1000 : 2000;
    const rounds = h.quick ? 3 : 21; // the median of many rounds: this machine's speed changes between them
    const stats = async () => JSON.parse((await get(port.recorded, '/__stats', {})).body).recorder;
    const phase = async (label, target) => {
      const cpuUs = { plain: [], recorded: [] };
      const ratios = [];
      const before = await stats();
      for (let r = 0; r < rounds; r++) {
        const round = {};
        for (const v of r % 2 ? [...variants].reverse() : variants) {
          const result = await measured(port[v], perRound, () => false);
          if (result.failed) throw new Error(`${result.failed} requests failed`);
          round[v] = result.cpuPerRequest;
          cpuUs[v].push(result.cpuPerRequest);
        }
        ratios.push(round.plain / round.recorded);
      }
      const after = await stats();
      if (after.added - before.added < rounds * perRound)
        throw new Error(`only ${after.added - before.added} requests were recorded`);
      h.report(
        `${framework} on Node ${version}${flags.map((f) => ` ${f}`).join('')}: every request recorded (not exposed), ${label}, throughput / no middleware`,
        median(cpuUs.plain) / median(cpuUs.recorded),
        'x',
        {
          ...(target ? { target } : {}),
          note: `${median(cpuUs.recorded).toFixed(1)} vs ${median(cpuUs.plain).toFixed(1)} µs server CPU per request, medians of ${rounds} interleaved rounds of ${perRound} (per-round ratios ${middleHalf(ratios)}, their median ${median(ratios).toFixed(2)}: paired back to back, the rounds read differently when the machine's speed changes between them); the recorder held ${after.traces} traces (${(after.bytes / 2 ** 20).toFixed(1)} MiB), ${after.evicted - before.evicted} evicted during the rounds`,
        },
      );
    };
    for (const v of variants) await blast(port[v], 2000, () => false);
    await phase('while its 64 MiB ring fills', undefined);
    // Serve both until the ring has turned over: from then on every add evicts.
    for (let served = 0; (await stats()).evicted === 0; served += 10_000) {
      if (served > 2_000_000) throw new Error('the ring never turned over');
      for (const v of variants) await blast(port[v], 10_000, () => false);
    }
    await phase('ring turned over', '>= 0.85');
  } finally {
    for (const s of servers) {
      s.child.removeAllListeners('exit');
      s.child.kill();
    }
  }
}

async function load(h, framework) {
  const variants = ['plain', 'noop', 'traced'];
  const servers = [];
  try {
    for (const v of variants) servers.push(await startServer(framework, v));
    const port = Object.fromEntries(variants.map((v, i) => [v, servers[i].port]));
    const traced = port.traced;
    const perRound = h.quick ? 1000 : 2000;
    const rounds = h.quick ? 3 : 21; // the median of many rounds: this machine's speed changes between them
    const total = h.quick ? 4000 : 10_000;
    // warm all servers (JIT, sockets)
    for (const v of variants) await blast(port[v], 2000, (i) => v === 'traced' && i % 2 === 0);
    // Throughput of a CPU-bound server is 1 / (CPU time per request). Server CPU time is measured
    // in each server's own process, so it is far less disturbed by other work on a shared machine
    // than wall-clock req/s (reported alongside).
    const cpuUs = { plain: [], noop: [], traced: [] };
    const rps = { plain: [], noop: [], traced: [] };
    const vsPlain = [];
    const vsNoop = [];
    for (let r = 0; r < rounds; r++) {
      const order = variants.map((_, i) => variants[(i + r) % variants.length]);
      const round = {};
      for (const v of order) {
        const result = await measured(port[v], perRound, () => false);
        if (result.failed) throw new Error(`${result.failed} untriggered requests failed`);
        round[v] = result.cpuPerRequest;
        cpuUs[v].push(result.cpuPerRequest);
        rps[v].push(result.rps);
      }
      vsPlain.push(round.plain / round.traced);
      vsNoop.push(round.noop / round.traced);
    }
    const us = (v) => median(cpuUs[v]).toFixed(1);
    const how = `server CPU per request in each server's own process, median of ${rounds} rounds of ${perRound} requests per variant at concurrency 100`;
    // the ratio of the two medians the note shows; the per-round ratios show the machine's swing
    const ratio = (a, b) => median(cpuUs[a]) / median(cpuUs[b]);
    h.report(
      `${framework}: untriggered throughput, with middleware / without`,
      ratio('plain', 'traced'),
      'x',
      {
        target: '>= 0.97',
        note: `${us('traced')} vs ${us('plain')} µs (per-round ratios ${middleHalf(vsPlain)}); ${how}; wall clock ${median(rps.traced).toFixed(0)} vs ${median(rps.plain).toFixed(0)} req/s`,
      },
    );
    h.report(
      `${framework}: untriggered throughput, stepmark / a no-op ${framework === 'fastify' ? 'hook' : 'middleware'} in its place`,
      ratio('noop', 'traced'),
      'x',
      {
        target: '>= 0.98',
        note: `${us('traced')} vs ${us('noop')} µs (per-round ratios ${middleHalf(vsNoop)}): what stepmark adds beyond the framework's cost of one more layer`,
      },
    );
    const before = await heap(traced);
    const half = await measured(traced, total, (i) => i % 2 === 0);
    h.report(
      `${framework}: ${total} requests half triggered, failed or cross-talk`,
      half.failed + half.crossTalk,
      'requests',
      {
        target: '== 0',
        note: `${half.traced} traced responses checked, ${half.rps.toFixed(0)} req/s`,
      },
    );
    const untriggered = await measured(traced, total, () => false);
    const all = await measured(traced, total, () => true);
    h.report(
      `${framework}: every request triggered and exposed, throughput / untriggered`,
      untriggered.cpuPerRequest / all.cpuPerRequest,
      'x',
      {
        note: `server CPU ${all.cpuPerRequest.toFixed(0)} vs ${untriggered.cpuPerRequest.toFixed(0)} µs per request; wall clock ${all.rps.toFixed(0)} vs ${untriggered.rps.toFixed(0)} req/s; failed or cross-talk: ${all.failed + all.crossTalk}`,
      },
    );
    if (all.failed + all.crossTalk > 0)
      throw new Error(`${framework}: ${all.failed} failed, ${all.crossTalk} cross-talk`);
    await new Promise((resolve) => setTimeout(resolve, 200)); // let the last onFinish calls run
    const after = await heap(traced);
    const stats = JSON.parse((await get(traced, '/__stats', {})).body);
    h.report(
      `${framework}: heap growth over ${3 * total} requests to the traced server (forced GC)`,
      (after - before) / 2 ** 20,
      'MB',
      {
        target: '<= 4',
        note: `server-side onFinish ${stats.finished}, cross-talk ${stats.crossTalk}`,
      },
    );
  } finally {
    for (const s of servers) {
      s.child.removeAllListeners('exit');
      s.child.kill();
    }
  }
}
