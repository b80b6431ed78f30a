/**
 * The web console at /console: static files, read once when the gateway starts, from
 * `console/public/` (the page and its style) and `dist/console/` (the ES modules `npm run build`
 * compiles from `console/src/`). Only those files are served, by name, so no path reaches
 * anything else; each answer carries a Content-Security-Policy that allows this origin's
 * scripts, styles and calls and nothing inline.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { AgoraError } from '../../lib/errors';
import { ERROR_RESPONSE } from './statuses';

export const CONSOLE_PATH = '/console';

/** The repository root: this module runs as dist/gateway/ops/console.js. */
const ROOT = path.resolve(__dirname, '..', '..', '..');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface File {
  type: string;
  body: Buffer;
}

/** The console's files by name; a directory that is missing (no build yet) gives none. */
export function consoleFiles(
  dirs = [path.join(ROOT, 'console', 'public'), path.join(ROOT, 'dist', 'console')],
): Map<string, File> {
  const files = new Map<string, File>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const type = TYPES[path.extname(name)];
      if (type !== undefined) files.set(name, { type, body: readFileSync(path.join(dir, name)) });
    }
  }
  return files;
}

export const consoleRoutes: FastifyPluginAsync<{ files?: Map<string, File> }> = async (app, options) => {
  const files = options.files ?? consoleFiles();
  const send = (name: string, url: string, reply: FastifyReply): FastifyReply => {
    const file = files.get(name);
    if (file === undefined) throw new AgoraError('AGORA_ERR_HTTP_NOT_FOUND', [JSON.stringify(url)]);
    return reply
      .header('content-type', file.type)
      .header('content-security-policy', CONSOLE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-cache')
      .send(file.body);
  };
  // The page names its files by absolute path, so /console needs no trailing slash.
  app.get(
    CONSOLE_PATH,
    { schema: { tags: ['utilities'], summary: 'The web console (HTML)' } },
    async (request, reply) => send('index.html', request.url, reply),
  );
  app.get(
    `${CONSOLE_PATH}/:file`,
    {
      schema: {
        tags: ['utilities'],
        summary: "One of the web console's files (its modules and style)",
        params: { type: 'object', properties: { file: { type: 'string' } }, required: ['file'] },
        // A name that is not one of the console's files.
        response: { 404: ERROR_RESPONSE },
      },
    },
    async (request, reply) => send((request.params as { file: string }).file, request.url, reply),
  );
};
