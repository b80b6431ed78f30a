/**
 * services/compute/kept-permissions.ts: the permissions of the nodes kept on disk for a compute on
 * the memory backend, noted through the store it wraps and read back by the next process.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../../lib/log';
import { ownerOnly } from '../../lib/permissions';
import { newNode } from '../../lib/store/contracts';
import { MemoryNodeStore } from '../../lib/store/store-memory';
import { KeptPermissions, keptPermissionsDir, PERMISSIONS_FILE } from '../../services/compute/kept-permissions';

const log = createLogger('test', 'silent');

function dir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(path.join(tmpdir(), 'agora-kept-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return path.join(d, 'compute@x');
}

test("the permissions of every write are kept; the next process reads them; its owner's alone is not kept", async (t) => {
  const where = dir(t);
  const kept = new KeptPermissions(where, log);
  const store = kept.wrap(new MemoryNodeStore());
  const shared = { read: ['account:bob'], write: ['account:ann'] };
  const a = newNode({ id: 'a', owner: 'ann', name: 'a', image: 'e', size: 's', command: '', permissions: shared }, 1);
  const b = newNode({ id: 'b', owner: 'ann', name: 'b', image: 'e', size: 's', command: '' }, 1);
  assert.equal(await store.create(a, 10), 'created');
  assert.equal(await store.create(b, 10), 'created');
  assert.deepEqual(new KeptPermissions(where, log).get('a'), shared, 'read back by another process');
  assert.equal(new KeptPermissions(where, log).get('b'), undefined, "its owner's alone: nothing kept");
  const opened = { read: ['system.Authenticated'], write: ['account:ann'] };
  const v = (await store.get('b'))!.version;
  assert.equal((await store.putIfVersion({ ...b, permissions: opened }, v)).done, true);
  assert.equal((await store.putIfVersion({ ...b, permissions: shared }, v)).done, false, 'refused: nothing noted');
  assert.deepEqual(new KeptPermissions(where, log).get('b'), opened);
  await store.put({ ...a, permissions: ownerOnly('ann') });
  assert.equal(new KeptPermissions(where, log).get('a'), undefined, "back to its owner's alone: forgotten");
  await store.delete('b');
  assert.equal(new KeptPermissions(where, log).get('b'), undefined, 'deleted: forgotten');
  assert.deepEqual(JSON.parse(readFileSync(path.join(where, PERMISSIONS_FILE), 'utf8')), {});
});

test('a file that is not JSON, or holds what are not permissions, is started afresh without failing', (t) => {
  const where = dir(t);
  new KeptPermissions(where, log).note({ id: 'a', owner: 'ann', permissions: { read: ['account:bob'], write: [] } });
  writeFileSync(path.join(where, PERMISSIONS_FILE), '{"a": {"read": ["account:bob"], "wr');
  assert.equal(new KeptPermissions(where, log).get('a'), undefined);
  writeFileSync(path.join(where, PERMISSIONS_FILE), '{"a": {"read": ["nobody"]}, "b": {"read": [], "write": []}}');
  const kept = new KeptPermissions(where, log);
  assert.equal(kept.get('a'), undefined, 'not a principal: left out');
  assert.deepEqual(kept.get('b'), { read: [], write: [] });
});

test('the directory: compute@<bus> under the root, or under the OS temp dir', () => {
  assert.equal(keptPermissionsDir('/var/lib/agora', 'tcp://127.0.0.1:5555'), '/var/lib/agora/compute@127.0.0.1_5555');
  assert.match(keptPermissionsDir('', 'tcp://h:1'), /agora-driver-\d+\/compute@h_1$/);
});
