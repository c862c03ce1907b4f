/**
 * Verifying a client certificate on the server side of a TLS session. `node:tls` checks a
 * client's chain only inside `tls.Server`; a standalone server socket, which STARTTLS needs,
 * accepts any certificate, so the chain is checked here against `caCerts`.
 *
 * @module
 */
import { X509Certificate } from "node:crypto";
import type { TLSSocket } from "node:tls";

interface PeerCert {
  raw?: Uint8Array;
  issuerCertificate?: PeerCert;
}

/**
 * Why a client's certificate is not acceptable, or `undefined` if it is: it must be valid
 * now and chain, through the certificates the client sent, to one of `caCerts`.
 *
 * @param socket The server socket, after its handshake.
 * @param caCerts The PEM CA certificates clients must chain to.
 * @returns The reason for refusing it, or `undefined`.
 */
export function clientCertProblem(
  socket: TLSSocket,
  caCerts: readonly string[] | undefined,
): string | undefined {
  const peer = socket.getPeerCertificate(true) as PeerCert;
  if (!peer?.raw) return "the client sent no certificate";
  if (!caCerts || caCerts.length === 0) return "no caCerts to verify client certificates with";
  const cas = caCerts.map((pem) => new X509Certificate(pem));
  const now = Date.now();
  let link: PeerCert | undefined = peer;
  for (let depth = 0; link?.raw && depth < 10; depth++) {
    const cert = new X509Certificate(link.raw);
    if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) {
      return `the client certificate "${cert.subject}" is not valid now`;
    }
    if (cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) return undefined;
    const next: PeerCert | undefined = link.issuerCertificate;
    if (!next?.raw || next === link) break;
    const issuer = new X509Certificate(next.raw);
    if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) break;
    link = next;
  }
  return "the client certificate is not signed by a trusted CA (caCerts)";
}
