// Original file: proto/driver.proto

import type { Long } from '@grpc/proto-loader';

export interface DriverNode {
  'id'?: (string);
  'name'?: (string);
  'owner'?: (string);
  'image'?: (string);
  'size'?: (string);
  'command'?: (string);
  /**
   * BUILDING (process started, not yet answering its health check), ACTIVE (answering),
   * STOPPING (SIGTERM sent), STOPPED (no process, on purpose), DELETING (being removed),
   * ERROR (no process, not on purpose: failed health check, failed spawn, or died on
   * its own; `reason` says which).
   */
  'state'?: (string);
  /**
   * Why the node is in ERROR, in a sentence; empty otherwise.
   */
  'reason'?: (string);
  /**
   * Where the node's process listens while BUILDING/ACTIVE (its PORT), e.g. 127.0.0.1.
   */
  'host'?: (string);
  'port'?: (number);
  /**
   * OS process id while a process exists, else 0.
   */
  'pid'?: (number);
  /**
   * How the last process ended: its exit code (-1 when killed by a signal or none yet),
   * and the signal name when a signal ended it ("SIGKILL"), else "".
   */
  'exit_code'?: (number);
  'signal'?: (string);
  /**
   * ms since the epoch.
   */
  'created_at'?: (number | string | Long);
  'updated_at'?: (number | string | Long);
  /**
   * The last lines the process wrote (stdout and stderr interleaved, oldest first), at
   * most the driver's configured count. Filled by Status only.
   */
  'output'?: (string)[];
}

export interface DriverNode__Output {
  'id': (string);
  'name': (string);
  'owner': (string);
  'image': (string);
  'size': (string);
  'command': (string);
  /**
   * BUILDING (process started, not yet answering its health check), ACTIVE (answering),
   * STOPPING (SIGTERM sent), STOPPED (no process, on purpose), DELETING (being removed),
   * ERROR (no process, not on purpose: failed health check, failed spawn, or died on
   * its own; `reason` says which).
   */
  'state': (string);
  /**
   * Why the node is in ERROR, in a sentence; empty otherwise.
   */
  'reason': (string);
  /**
   * Where the node's process listens while BUILDING/ACTIVE (its PORT), e.g. 127.0.0.1.
   */
  'host': (string);
  'port': (number);
  /**
   * OS process id while a process exists, else 0.
   */
  'pid': (number);
  /**
   * How the last process ended: its exit code (-1 when killed by a signal or none yet),
   * and the signal name when a signal ended it ("SIGKILL"), else "".
   */
  'exit_code': (number);
  'signal': (string);
  /**
   * ms since the epoch.
   */
  'created_at': (number);
  'updated_at': (number);
  /**
   * The last lines the process wrote (stdout and stderr interleaved, oldest first), at
   * most the driver's configured count. Filled by Status only.
   */
  'output': (string)[];
}
