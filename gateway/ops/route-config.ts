/**
 * What marks an ops endpoint of the Cliquet/Kinto protocol (the hello, the heartbeats, the
 * version, the metrics): it is served under overload (hooks/load-shedding.ts), not rate
 * limited (hooks/rate-limit.ts) and still answers past the end of service
 * (hooks/deprecation.ts). Every ops route is registered with `config: OPS`.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** An ops endpoint: still answered past the end of service. */
    ops?: boolean;
  }
}

export const OPS = { shed: false, rateLimit: false, ops: true } as const;
