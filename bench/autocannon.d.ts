// autocannon ships no types; this is the part bench/http.ts and bench/proxy.ts use.
declare module 'autocannon' {
  namespace autocannon {
    interface Result {
      requests: { average: number; total: number };
      latency: { p50: number; p99: number };
      errors: number;
      timeouts: number;
      mismatches: number;
      non2xx: number;
    }
  }
  function autocannon(options: Record<string, unknown>): Promise<autocannon.Result>;
  export = autocannon;
}
