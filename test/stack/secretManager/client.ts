// A Secret Manager client pointed at the fake: the same options the production client uses when
// OTT_SECRET_MANAGER_ENDPOINT is set (insecure channel, so no Google credentials are looked up).
import * as grpc from '@grpc/grpc-js';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';

export function makeSecretClient(endpoint = process.env.OTT_SECRET_MANAGER_ENDPOINT): SecretManagerServiceClient {
  if (!endpoint) throw new Error('OTT_SECRET_MANAGER_ENDPOINT is not set: is the local stack running?');
  const [host, port] = endpoint.split(':');
  return new SecretManagerServiceClient({ apiEndpoint: host, port: Number(port), sslCreds: grpc.credentials.createInsecure() });
}
