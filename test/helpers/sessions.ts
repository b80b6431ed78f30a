/**
 * A narrow fake of auth for unit tests of the services that resolve session keys: two known
 * keys, every other one refused as auth would.
 */
import { AgoraError } from '../../lib/errors';
import type { SessionResolver } from '../../lib/session-cache';

export const ALICE = 42;
export const BOB = 43;

export function fakeSessions(): SessionResolver {
  const users = new Map([
    [ALICE, 'alice'],
    [BOB, 'bob'],
  ]);
  return {
    resolve: async (sesskey) => {
      const user = users.get(sesskey);
      if (user === undefined) throw new AgoraError('AGORA_ERR_AUTH_BAD_SESSION');
      return user;
    },
    close: () => undefined,
  };
}
