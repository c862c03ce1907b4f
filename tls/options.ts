/**
 * TLS settings of a handle ({@linkcode TlsOptions}), the shared defaults every handle inherits
 * ({@linkcode defaultTlsOptions}, the `TLS_CTX` of AnyEvent::Handle), and how a TLS failure
 * becomes a {@linkcode HandleError}.
 *
 * @module
 */
import { HandleError } from "../base/errors.ts";

/** Which side of the handshake this end plays: `"connect"` (client) or `"accept"` (server). */
export type TlsMode = "connect" | "accept";

/** TLS settings, with Deno's names where Deno has one. */
export interface TlsOptions {
  /**
   * The name the server's certificate must match (client role), also sent as SNI unless it
   * is an IP address. A handle made by `Handle.connect` defaults to the host it connects to
   * (as AnyEvent's `peername`); any other to `"localhost"`.
   *
   * @default {"localhost"}
   */
  hostname?: string;
  /** AnyEvent::Handle's name for `hostname`; `hostname` wins when both are set. */
  peername?: string;
  /** PEM CA certificates to trust instead of the built-in roots. */
  caCerts?: readonly string[];
  /** PEM certificate chain: required to accept, optional to connect (mutual TLS). */
  cert?: string;
  /** The PEM private key of `cert`. */
  key?: string;
  /** ALPN protocols to offer (client) or accept (server), most preferred first. */
  alpnProtocols?: readonly string[];
  /**
   * Accept a server certificate whose name does not match `hostname`; the chain is still
   * verified.
   *
   * @default {false}
   */
  unsafelyDisableHostnameVerification?: boolean;
  /**
   * Server role: ask for a client certificate and fail the handshake without a valid one.
   *
   * @default {false}
   */
  requireClientCert?: boolean;
  /**
   * Server role: a certificate per name the client asks for (SNI), exact names
   * (`"mail.example.com"`) or one-label wildcards (`"*.example.com"` matches
   * `"a.example.com"`, not `"example.com"` nor `"a.b.example.com"`); names compare without
   * case, exact ones before wildcards. A client that asks for no name, or for one not listed,
   * gets the top-level `cert` and `key`. Without them its handshake fails: it is sent a fatal
   * `unrecognized_name` alert (`handshake_failure` if it asked for no name), and the server's
   * error is an `EPROTO` naming the name; accepting with such options warns once, at
   * start-up for `Handle.serve`.
   */
  sni?: Readonly<Record<string, SniCertificate>>;
}

/** A certificate and its key, for one SNI name. */
export interface SniCertificate {
  /** The PEM certificate chain. */
  cert: string;
  /** Its PEM private key. */
  key: string;
}

/**
 * Picks the SNI entry for a server name: the exact name, else the wildcard of its parent
 * domain.
 *
 * @param sni The `sni` table.
 * @param serverName What the client asked for (`""` for nothing).
 * @returns The entry, or `undefined` for the default certificate.
 *
 * @example Exact names, then wildcards
 * ```ts
 * import { sniEntry } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const a = { cert: "A", key: "a" };
 * const w = { cert: "W", key: "w" };
 * const sni = { "a.example": a, "*.example": w };
 * assert.equal(sniEntry(sni, "A.Example"), a);
 * assert.equal(sniEntry(sni, "b.example"), w);
 * assert.equal(sniEntry(sni, "x.b.example"), undefined);
 * assert.equal(sniEntry(sni, ""), undefined);
 * ```
 */
export function sniEntry(
  sni: Readonly<Record<string, SniCertificate>>,
  serverName: string,
): SniCertificate | undefined {
  if (serverName === "") return undefined;
  const name = serverName.toLowerCase();
  let wildcard: SniCertificate | undefined;
  const dot = name.indexOf(".");
  const parent = dot > 0 ? name.slice(dot + 1) : undefined;
  for (const [pattern, entry] of Object.entries(sni)) {
    const p = pattern.toLowerCase();
    if (p === name) return entry;
    if (parent !== undefined && p.startsWith("*.") && p.slice(2) === parent) wildcard = entry;
  }
  return wildcard;
}

const warnedSni = new WeakSet<object>();

/**
 * Warns, once per `sni` table, that a server has no default certificate: a client that asks
 * for another name, or for none, then gets only a TLS alert. Called where accept options are
 * checked (`Handle.serve` at start-up, and every TLS accept).
 *
 * @param options Merged accept options.
 */
export function warnSniWithoutDefault(options: TlsOptions): void {
  const sni = options.sni;
  if (sni === undefined || (options.cert && options.key) || warnedSni.has(sni)) return;
  warnedSni.add(sni);
  const names = Object.keys(sni).map((name) => `"${name}"`).join(", ");
  console.warn(
    `@anyevent/handle: tlsOptions.sni (${names}) has no default certificate ` +
      "(tlsOptions.cert and key): a client asking for another name, or none, " +
      "gets a TLS alert (unrecognized_name or handshake_failure) instead of a session",
  );
}

/**
 * The TLS settings every handle starts from: `tlsOptions` given to a handle or to
 * `starttls` are laid over these, key by key. Set them once at start-up (the CA a whole
 * program trusts, a server's certificate) instead of passing them to every handle.
 *
 * @example Trusting a private CA in every handle
 * ```ts
 * import { defaultTlsOptions } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const saved = { ...defaultTlsOptions };
 * defaultTlsOptions.caCerts = ["-----BEGIN CERTIFICATE-----\n..."];
 * assert.equal(defaultTlsOptions.caCerts.length, 1);
 * delete defaultTlsOptions.caCerts;
 * assert.deepEqual(defaultTlsOptions, saved);
 * ```
 */
export const defaultTlsOptions: TlsOptions = {};

/**
 * Lays `options` over {@linkcode defaultTlsOptions} (and an optional handle-level layer).
 *
 * @param layers TLS options, later ones winning key by key; `undefined` entries are skipped.
 * @returns The merged options.
 */
export function mergeTlsOptions(...layers: (TlsOptions | undefined)[]): TlsOptions {
  const merged: TlsOptions = { ...defaultTlsOptions };
  for (const layer of layers) {
    if (layer === undefined) continue;
    for (const [key, value] of Object.entries(layer)) {
      if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
    }
  }
  return merged;
}

/**
 * Checks a TLS mode argument.
 *
 * @param mode What the caller passed.
 * @returns The mode.
 * @throws {TypeError} If it is neither `"connect"` nor `"accept"`.
 */
export function checkTlsMode(mode: unknown): TlsMode {
  if (mode !== "connect" && mode !== "accept") {
    throw new TypeError(`Cannot start TLS: mode must be "connect" or "accept", got "${mode}"`);
  }
  return mode;
}

/**
 * Turns a TLS failure into a fatal `EPROTO` whose message names the problem (the TLS
 * library's code and message, such as a certificate that cannot be verified).
 *
 * @param cause What the TLS layer reported.
 * @param during What was being done: "handshake", "read", "write".
 * @returns The error.
 */
export function tlsError(cause: unknown, during: string): HandleError {
  if (cause instanceof HandleError) return cause;
  const e = cause as { message?: string; code?: string } | undefined;
  const detail = [e?.code, e?.message].filter(Boolean).join(": ") || String(cause);
  return new HandleError("EPROTO", `TLS ${during} failed: ${detail}`, { cause });
}
