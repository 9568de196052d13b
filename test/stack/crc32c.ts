// CRC32C for the fixtures (GCS emulator, Secret Manager fake): the tool's own implementation, whose check
// value is pinned by test/worker/copyUnits.test.ts (the combine by crc32cCombine.test.ts), so fixture and
// worker can never disagree silently.
export { crc32c, crc32cBase64, crc32cCombine } from '../../src/worker/copy/crc32c.js';
