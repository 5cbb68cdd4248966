// A project's Vitest setup file: registers and types the stepmark matchers.
import 'stepmark/testing/vitest';
