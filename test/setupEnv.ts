// Every test file sees the local cloud's endpoints in process.env, as the CLI would on a VM.
import { inject } from 'vitest';

Object.assign(process.env, inject('stackEnv'));
