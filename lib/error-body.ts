/**
 * The /v1 error body of docs/ERRORS.md, `{code, errno, error, message, info?, details?}`, as the
 * gateway and the proxy both answer it (docs/ARCHITECTURE.md "One error registry").
 */
import { STATUS_CODES } from 'node:http';

/** The `details` of a refused precondition (412), as Kinto's: the record as it is now, or null. */
export interface PreconditionDetails {
  existing: unknown;
}

export interface ErrorBody<Detail = unknown> {
  code: number;
  errno: number;
  error: string;
  message: string;
  info?: string;
  /** One entry per faulty input; a 412's is `{existing}` instead. */
  details?: Detail[] | PreconditionDetails;
}

/** The body of a failure with this HTTP status, Kinto errno and message. */
export function errorBody<Detail>(problem: {
  status: number;
  errno: number;
  message: string;
  info?: string;
  details?: Detail[] | PreconditionDetails;
}): ErrorBody<Detail> {
  const body: ErrorBody<Detail> = {
    code: problem.status,
    errno: problem.errno,
    error: STATUS_CODES[problem.status] ?? 'Error',
    message: problem.message,
  };
  if (problem.info !== undefined) body.info = problem.info;
  if (problem.details !== undefined) body.details = problem.details;
  return body;
}
