/**
 * The image and size catalogue of the TypeScript driver (docs/COMPUTE.md "Images and
 * sizes"), and the checks of a Create request against it.
 */
import path from 'node:path';
import { AgoraError, type ErrorCode } from '../../lib/errors';
import type { DriverCreateRequest__Output } from '../../lib/gen/agora/DriverCreateRequest';
import { cut, nodeIdProblem, nodeNameProblem } from '../../lib/node-names';

/** How the driver decides that a starting node is running. */
export type HealthCheck = 'http' | 'tcp';

export interface Image {
  /** The program and its arguments, for a node of `memoryMb` and (image `command`) its command. */
  argv(memoryMb: number, command: string): string[];
  health: HealthCheck;
  /** The image runs the command given at create time. */
  takesCommand: boolean;
}

/** The built-in HTTP server, next to this file (dist/services/driver/http-node.js). */
export const HTTP_NODE_ENTRY = path.join(__dirname, 'http-node.js');

export const IMAGES: Readonly<Record<string, Image>> = {
  http: {
    argv: (memoryMb) => [process.execPath, `--max-old-space-size=${memoryMb}`, HTTP_NODE_ENTRY],
    health: 'http',
    takesCommand: false,
  },
  command: {
    argv: (_memoryMb, command) => ['/bin/sh', '-c', command],
    health: 'tcp',
    takesCommand: true,
  },
};

/** Sizes and the memory (MB) each gives a node as NODE_MEMORY_MB. */
export const SIZES: Readonly<Record<string, number>> = { small: 64, medium: 128, large: 256 };

export const DEFAULT_SIZE = 'small';

/** Longest command accepted, in characters. */
export const COMMAND_MAX = 4096;

/** A Create request, every field given. */
export type CreateSpec = DriverCreateRequest__Output;

/** Check a Create request against the catalogue; answers it with the size filled in. */
export function checkSpec(spec: CreateSpec, allowCommand: boolean): CreateSpec {
  const problem = nodeIdProblem(spec.id) ?? nodeNameProblem(spec.name);
  if (problem !== null) throw new AgoraError('AGORA_ERR_NODE_INVALID', [problem]);
  const image = imageOf(spec.image);
  const size = spec.size === '' ? DEFAULT_SIZE : spec.size;
  memoryOf(size);
  if (image.takesCommand) {
    if (!allowCommand)
      throw new AgoraError('AGORA_ERR_NODE_COMMAND_NOT_ALLOWED', [`image ${cut(spec.image)} is disabled`]);
    if (spec.command.trim() === '')
      throw new AgoraError('AGORA_ERR_NODE_INVALID', [`image ${cut(spec.image)} needs a command`]);
    if (spec.command.length > COMMAND_MAX)
      throw new AgoraError('AGORA_ERR_NODE_INVALID', [
        `the command has ${spec.command.length} characters, at most ${COMMAND_MAX} allowed`,
      ]);
  } else if (spec.command !== '') {
    throw new AgoraError('AGORA_ERR_NODE_INVALID', [`image ${cut(spec.image)} takes no command`]);
  }
  return { ...spec, size };
}

/** The image named `name`, or AGORA_ERR_NODE_UNKNOWN_IMAGE. */
export function imageOf(name: string): Image {
  return entryOf(IMAGES, name, 'AGORA_ERR_NODE_UNKNOWN_IMAGE', 'images');
}

/** The memory of size `name`, or AGORA_ERR_NODE_UNKNOWN_SIZE. */
export function memoryOf(name: string): number {
  return entryOf(SIZES, name, 'AGORA_ERR_NODE_UNKNOWN_SIZE', 'sizes');
}

/** `table[name]`, or error `code` naming the known names (its data: `{[key]: names}`). */
function entryOf<T>(table: Readonly<Record<string, T>>, name: string, code: ErrorCode, key: string): T {
  const entry = Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
  if (entry === undefined) {
    const names = Object.keys(table);
    throw new AgoraError(code, [cut(name), names.join(', ')], { data: { [key]: names } });
  }
  return entry;
}
