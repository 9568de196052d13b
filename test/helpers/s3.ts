// Tests reach the stack's S3 client here, as they always have; it lives with the stack (test/stack/s3Client.ts)
// because the demo uses it too, through the stack's index.
export { makeS3Client } from '../stack/s3Client.js';
