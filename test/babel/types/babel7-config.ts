// Type-checked by types.test.ts: the plugin fits Babel 7's typings (@types/babel__core).
import type { PluginItem, TransformOptions } from 'babel__core';
import stepmark from '../../../babel-plugin/index.js';

export const item: PluginItem = [stepmark, { include: ['src/**'] }];
export const options: TransformOptions = { plugins: [stepmark, [stepmark, { callbacks: true }]] };
