/** Requests of the Messages service's handlers (services/messages/handlers.ts) as unit tests make them. */
import type { PostRequest__Output } from '../../lib/gen/agora/PostRequest';
import { ALICE } from './sessions';

/** A Post request as gRPC decodes it: every field set, by default Alice's unconditional post to "general". */
export function postRequest(message: string, fields: Partial<PostRequest__Output> = {}): PostRequest__Output {
  return {
    sesskey: ALICE,
    channel: 'general',
    message,
    check_last: false,
    expected_last: 0,
    check_last_modified: false,
    expected_last_modified: 0,
    idempotency_key: '',
    ...fields,
  };
}
