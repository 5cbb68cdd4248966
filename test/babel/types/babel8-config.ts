// Type-checked by types.test.ts: the plugin fits Babel 8's own typings.
import type { InputOptions, PluginItem } from '@babel/core';
import stepmark from '../../../babel-plugin/index.js';

export const item: PluginItem = [stepmark, { include: ['src/**'] }];
export const options: InputOptions = { plugins: [stepmark, [stepmark, { callbacks: true }]] };
