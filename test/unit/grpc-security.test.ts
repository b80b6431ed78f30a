/**
 * grpcSecurity (lib/rpc/grpc.ts): plaintext only on loopback unless AGORA_GRPC_INSECURE, the
 * three AGORA_GRPC_TLS_* together or not at all, files that cannot be read named.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { grpcSecurity, isLoopback } from '../../lib/rpc/grpc';

const NONE = { grpcTlsCert: '', grpcTlsKey: '', grpcTlsCa: '', grpcInsecure: false };

test('loopback addresses are 127.0.0.0/8, ::1 and localhost; nothing else', () => {
  for (const a of ['127.0.0.1:50051', '127.1.2.3:0', '[::1]:50051', 'localhost:1', 'LOCALHOST:2'])
    assert.equal(isLoopback(a), true, a);
  for (const a of ['0.0.0.0:50051', '10.0.0.5:1', '[::]:1', 'example.org:1', '128.0.0.1:1', '127.0.0.1.evil:1'])
    assert.equal(isLoopback(a), false, a);
});

test('plaintext: allowed on loopback or with grpcInsecure, else one problem naming every variable', () => {
  const ok = grpcSecurity(NONE, '127.0.0.1:0');
  assert.ok('server' in ok && !ok.tls);
  assert.ok('server' in grpcSecurity({ ...NONE, grpcInsecure: true }, '0.0.0.0:0'));
  const refused = grpcSecurity(NONE, '0.0.0.0:50051');
  assert.ok('problems' in refused);
  assert.match(
    refused.problems[0],
    /0\.0\.0\.0:50051.*AGORA_GRPC_TLS_CERT.*AGORA_GRPC_TLS_KEY.*AGORA_GRPC_TLS_CA.*AGORA_GRPC_INSECURE/,
  );
});

test('TLS files: all three or none; unreadable ones named', () => {
  const partial = grpcSecurity({ ...NONE, grpcTlsCert: '/x/cert.pem' }, '127.0.0.1:0');
  assert.ok('problems' in partial);
  assert.match(partial.problems[0], /must be set together/);
  const missing = grpcSecurity({ ...NONE, grpcTlsCert: '/x/c', grpcTlsKey: '/x/k', grpcTlsCa: '/x/a' });
  assert.ok('problems' in missing);
  assert.deepEqual(
    missing.problems.map((p) => p.split(' ')[0]),
    ['AGORA_GRPC_TLS_CERT', 'AGORA_GRPC_TLS_KEY', 'AGORA_GRPC_TLS_CA'],
  );
});
