/**
 * End of service (Kinto's `eos`, `eos_message`, `eos_url`): with AGORA_EOS set, every
 * response carries `Alert: {"code", "message", "url"}` (JSON, as Kinto sends it), with code
 * `soft-eol` before the date and `hard-eol` from it on; from the date on, every request but
 * the ops endpoints (ops/route-config.ts) and CORS preflights answers 410, errno 202
 * (AGORA_ERR_HTTP_GONE). The hello lists the date as `eos` (ops/hello.ts).
 */
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AgoraError } from '../../lib/errors';
import { answersMethod, documentStatuses } from '../ops/statuses';

export interface DeprecationOptions {
  /** The date, as configured (`2030-01-01`, or an ISO date-time); empty: no end of service. */
  eos: string;
  message: string;
  /** The Alert's `url`; empty: `fallbackUrl` of the request. */
  url: string;
  /** The documentation's URL for a request (the hello's `project_docs`). */
  fallbackUrl(request: FastifyRequest): string;
  /** Wall clock, ms since the epoch (tests inject one). */
  now?: () => number;
}

/** Alerts kept per code: one per url the documentation is reached at (a request's Host names it). */
const MAX_ALERTS = 64;

export const deprecation = fp<DeprecationOptions>(
  async (app, options) => {
    if (options.eos === '') return;
    const now = options.now ?? Date.now;
    // The Alert's code: soft-eol before the end of service, hard-eol from it on.
    const eosAt = Date.parse(options.eos);
    documentStatuses(app, (route) => (route.config?.ops === true || answersMethod(route, 'OPTIONS') ? [] : [410]));
    // The Alert of each code and url, made once (the url is the request's only without AGORA_EOS_URL).
    const alerts = { 'soft-eol': new Map<string, string>(), 'hard-eol': new Map<string, string>() };
    const alertOf = (code: keyof typeof alerts, url: string): string => {
      let alert = alerts[code].get(url);
      if (alert === undefined) {
        alert = asciiJson({ code, message: options.message, url });
        if (alerts[code].size < MAX_ALERTS) alerts[code].set(url, alert);
      }
      return alert;
    };
    app.addHook('onRequest', (request, reply, done) => {
      const code = now() < eosAt ? 'soft-eol' : 'hard-eol';
      const url = options.url !== '' ? options.url : options.fallbackUrl(request);
      reply.header('alert', alertOf(code, url));
      const ops = request.routeOptions.config?.ops === true || request.method === 'OPTIONS';
      done(code === 'hard-eol' && !ops ? new AgoraError('AGORA_ERR_HTTP_GONE') : undefined);
    });
  },
  { name: 'agora-deprecation' },
);

/** JSON with every character beyond ASCII escaped, as a header value must be (Python's json.dumps does the same). */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
