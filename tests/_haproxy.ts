/**
 * HAProxy for the tests that run one (tests/proxy_haproxy.test.ts,
 * tests/reliability_haproxy_check.test.ts): where the binary is, and free loopback ports for its
 * frontends, chosen at run time (HAProxy binds them itself, so a lost race is retried).
 */

/** The `haproxy` binary, or `undefined` if there is none (Debian: `apt-get install haproxy`). */
export async function findHaproxy(): Promise<string | undefined> {
  for (const candidate of ["haproxy", "/usr/sbin/haproxy", "/usr/local/sbin/haproxy"]) {
    try {
      const probe = new Deno.Command(candidate, { args: ["-v"], stdout: "null", stderr: "null" });
      if ((await probe.output()).success) return candidate;
    } catch {
      // not at this place
    }
  }
  return undefined;
}

/** A port that was free a moment ago (HAProxy binds it next; a lost race is retried). */
export function freePort(hostname: string): number {
  const listener = Deno.listen({ hostname, port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}
