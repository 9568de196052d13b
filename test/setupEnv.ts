// Every test file sees the local cloud's endpoints in process.env, as the CLI would on a VM.
import { inject } from 'vitest';

Object.assign(process.env, inject('stackEnv'));
// The AWS SDK's notice that Node 20 support ends in 2027, printed by each test worker whose files build an
// S3 client: known, and noise in the test output. The CLI silences it itself (src/common/config/env.ts);
// tests that check the CLI's stderr run it without this switch (test/dump/dump.test.ts).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
