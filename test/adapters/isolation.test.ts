// Framework packages are optional peers: loading one adapter entry must load no other framework
// (and stepmark/hono nothing Node-specific). Checked in fresh processes, through module hooks
// that see every resolution, for both import (ESM build) and require (CommonJS build).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const FRAMEWORKS = ['express', 'fastify', 'koa', '@koa/router', 'hono', '@hono/node-server', '@grpc/grpc-js'];
const ENTRIES: Record<string, string[]> = {
  'stepmark/http': [],
  'stepmark/fastify': [],
  'stepmark/koa': [],
  'stepmark/hono': [],
  'stepmark/grpc': ['@grpc/grpc-js'],
};

// module.registerHooks needs Node >= 22.15: use the project's pinned Node if vitest runs on an older one.
const [major, minor] = process.versions.node.split('.').map(Number);
const HOOKS_NODE =
  major > 22 || (major === 22 && minor >= 15) ? process.execPath : join(root, 'node_modules/.bin/node');

function loaded(entry: string, how: 'import' | 'require', node = HOOKS_NODE): string[] {
  const load =
    how === 'import'
      ? `await import(${JSON.stringify(entry)})`
      : `createRequire(import.meta.url)(${JSON.stringify(entry)})`;
  const script = `
    import { registerHooks, createRequire } from 'node:module';
    const seen = [];
    registerHooks({ resolve(s, c, next) { const r = next(s, c); seen.push(r.url); return r; } });
    ${load};
    console.log(JSON.stringify(seen));`;
  const out = execFileSync(node, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  return JSON.parse(out) as string[];
}

const frameworkOf = (url: string) => FRAMEWORKS.find((f) => url.includes(`/node_modules/${f}/`));

describe('adapter entries load only their own framework', () => {
  for (const [entry, allowed] of Object.entries(ENTRIES)) {
    for (const how of ['import', 'require'] as const) {
      it(`${how} ${entry}`, () => {
        const urls = loaded(entry, how);
        expect(urls.some((u) => u.includes('/dist/adapters/'))).toBe(true);
        const frameworks = [...new Set(urls.map(frameworkOf).filter((f) => f !== undefined))];
        expect(frameworks).toEqual(allowed);
        // without a framework of its own, an entry loads no package at all (zero dependencies)
        if (allowed.length === 0) expect(urls.filter((u) => u.includes('/node_modules/'))).toEqual([]);
        if (entry === 'stepmark/hono') {
          // runs on Bun, Deno and workers: no Node built-in may be imported
          expect(urls.filter((u) => u.startsWith('node:'))).toEqual([]);
        }
      });
    }
  }
});

// The runtime must still work on Node 20 (the system node); the adapters with it.
const NODE20 = '/usr/bin/node';
describe.runIf(existsSync(NODE20))('stepmark/http on Node 20', () => {
  it('traces an Express request and exposes the trace, raw header arrays intact', () => {
    const script = `
      const express = require('express');
      const stepmark = require('stepmark');
      const { stepmarkMiddleware } = require('stepmark/http');
      const app = express();
      app.disable('x-powered-by'); // else Express itself calls setHeader before /raw's writeHead
      app.use(stepmarkMiddleware({ authorize: () => true, responseHeader: true }));
      app.get('/o/:id', async (req, res) => {
        await new Promise((r) => setTimeout(r, 5));
        stepmark.recordEntity('order_' + req.params.id, 'check', 'ok');
        await new Promise((r) => setTimeout(r, 5));
        res.json({ traced: stepmark.enabled() });
      });
      // raw header arrays with repeated names (Node 20 collapses them if setHeader was used first)
      app.get('/raw', (req, res) => res.writeHead(201, ['x-a', '1', 'x-a', '2']).end());
      const server = app.listen(0, '127.0.0.1', async () => {
        const base = 'http://127.0.0.1:' + server.address().port;
        const r = await fetch(base + '/o/7', { headers: { 'x-stepmark': '1' } });
        const body = await r.json();
        const trace = JSON.parse(r.headers.get('x-stepmark-trace'));
        const raw = await fetch(base + '/raw', { headers: { 'x-stepmark': '1' } });
        console.log(JSON.stringify({
          version: process.version, body, route: trace.meta.route, events: trace.entities.order_7.events.length,
          raw: raw.headers.get('x-a'), rawStatus: JSON.parse(raw.headers.get('x-stepmark-trace')).meta.status,
        }));
        server.close();
      });`;
    const out = JSON.parse(execFileSync(NODE20, ['-e', script], { cwd: root, encoding: 'utf8' }));
    expect(out).toMatchObject({
      body: { traced: true },
      route: '/o/:id',
      events: 1,
      raw: '1, 2',
      rawStatus: 201,
    });
    expect(out.version).toMatch(/^v20\./);
  });
});
