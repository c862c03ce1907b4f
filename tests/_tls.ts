/**
 * TLS material and helpers for the TLS tests: the test CA, a leaf certificate for localhost
 * and 127.0.0.1 signed by it (tests/certs/make.sh made them), and an unrelated CA.
 */
import { Handle, type HandleOptions, type SniCertificate, type TlsOptions } from "../mod.ts";

const dir = new URL("./certs/", import.meta.url);

/** The test CA (PEM). */
export const CA = Deno.readTextFileSync(new URL("ca.pem", dir));
/** A CA that did not sign the server certificate (PEM). */
export const OTHER_CA = Deno.readTextFileSync(new URL("other-ca.pem", dir));
/** The leaf certificate: CN and SAN localhost, SAN IP 127.0.0.1 (PEM). */
export const CERT = Deno.readTextFileSync(new URL("server.pem", dir));
/** The leaf certificate's key (PEM). */
export const KEY = Deno.readTextFileSync(new URL("server.key", dir));
/** Paths, for external peers (openssl, perl). */
export const PATHS = {
  ca: new URL("ca.pem", dir).pathname,
  cert: new URL("server.pem", dir).pathname,
  key: new URL("server.key", dir).pathname,
};

/** Client settings that trust the test CA and expect "localhost". */
export const CLIENT: TlsOptions = { caCerts: [CA], hostname: "localhost" };
/** Server settings with the test certificate. */
export const SERVER: TlsOptions = { cert: CERT, key: KEY };

/** Two handles on the two ends of one loopback TCP connection. */
export interface HandlePair {
  client: Handle;
  server: Handle;
  close(): Promise<void>;
}

/** Connects two handles over loopback, each with its own options. */
export async function handlePair(
  clientOptions: HandleOptions = {},
  serverOptions: HandleOptions = {},
): Promise<HandlePair> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = new Handle(await accepted, serverOptions);
  listener.close();
  const client = new Handle(conn, clientOptions);
  return {
    client,
    server,
    async close() {
      client.destroy();
      server.destroy();
      await Promise.allSettled([client.closed, server.closed]);
    },
  };
}

/**
 * A self-signed certificate for `name` (a P-256 key, SAN `DNS:name`), made with openssl in
 * `dir`. `leaf`: marked `CA:FALSE`, which rustls (Deno's native TLS) requires of a server
 * certificate trusted as its own CA.
 */
export async function makeCert(dir: string, name: string, leaf = false): Promise<SniCertificate> {
  const file = name.replace("*", "star");
  const [cert, key] = [`${dir}/${file}.pem`, `${dir}/${file}.key`];
  const args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
  args.push("-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", `/CN=${name}`);
  args.push("-addext", `subjectAltName=DNS:${name}`);
  if (leaf) args.push("-addext", "basicConstraints=critical,CA:FALSE");
  const out = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`openssl: ${new TextDecoder().decode(out.stderr)}`);
  return { cert: await Deno.readTextFile(cert), key: await Deno.readTextFile(key) };
}
