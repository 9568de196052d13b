// Starts the local cloud once for the whole test run and hands its endpoints to every test file.
import type { TestProject } from 'vitest/node';
import { startStack, type Stack } from './stack/index.js';

let stack: Stack | undefined;

export async function setup(project: TestProject): Promise<void> {
  stack = await startStack();
  project.provide('stackEnv', stack.env);
}

export async function teardown(): Promise<void> {
  await stack?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    stackEnv: Record<string, string>;
  }
}
