// One source and one expectation for the FRAME_ASYNC rule (docs/ABI.md), checked against every
// plugin's emitted text: plain async functions get the flag; generators, async generators and
// sync functions do not.
import { expect } from 'vitest';

export const ASYNC_KINDS =
  '// @stepmark\n' +
  'export async function load(id) { return await get(id); }\n' +
  'export const arrow = async (x) => await x;\n' +
  'export class Svc { async m() { await 0; } *gen() { yield 1; } async *agen() { yield 1; } sync() { return 1; } }\n' +
  'export function* gen2() { yield 1; }\n' +
  'export async function* agen2() { yield 1; }\n' +
  'export function plain() { return 1; }\n' +
  '/** @stepmark entity=order.id kind=order */\n' +
  'export async function handle(order) { await order; }\n';

/** Asserts the flags in output built from ASYNC_KINDS with `locations: false`. */
export function expectAsyncFlags(out: string): void {
  for (const name of ['load', 'arrow', 'Svc.m'])
    expect(out).toContain(`__stepmark.enter("${name}", void 0, 1)`);
  for (const name of ['Svc.gen', 'Svc.agen', 'Svc.sync', 'gen2', 'agen2', 'plain'])
    expect(out).toContain(`__stepmark.enter("${name}", void 0)`);
  expect(out).toContain('__stepmark.enterEntity("handle", void 0, "order", __stepmark.on() && order?.id, 1)');
  expect(out.match(/, 1\)/g)).toHaveLength(4);
}
