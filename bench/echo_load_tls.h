/*
 * TLS for the echo benchmark's load generator (bench/echo_load.c): client sessions over its
 * non-blocking sockets, with OpenSSL (bench/echo_load_tls.c). Built with -DECHO_LOAD_TLS and
 * linked with -lssl -lcrypto; without them, the functions below are stubs that refuse, so the
 * plain generator needs no OpenSSL.
 */
#ifndef ECHO_LOAD_TLS_H
#define ECHO_LOAD_TLS_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct tls;

#ifdef ECHO_LOAD_TLS

/* Trusts only the CA in `ca_file` and checks that the server is "localhost" or 127.0.0.1.
 * Returns 0, or prints why not on stderr and returns -1. */
int tls_setup(const char *ca_file);

/* A client session on a socket whose connect() is under way; NULL if out of memory. */
struct tls *tls_attach(int fd);

/* As read() and write() on a non-blocking socket, the handshake done along the way: -1 with
 * errno EAGAIN when the session must wait for the socket (see tls_wants_out), 0 at the end of
 * input (read), -1 with another errno on an error (OpenSSL's reason printed on stderr). */
ssize_t tls_read(struct tls *t, void *buf, size_t n);
ssize_t tls_write(struct tls *t, const void *buf, size_t n);

/* Whether the last read or write waits for the socket to be writable (else for input). */
int tls_wants_out(const struct tls *t);

/* The negotiated version and cipher, e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384". */
const char *tls_describe(struct tls *t);

/* Sends close_notify if it can without waiting, and frees the session (not the socket). */
void tls_close(struct tls *t);

#else

static inline int tls_setup(const char *ca_file) {
  (void)ca_file;
  fprintf(stderr, "echo_load: built without TLS (cc -DECHO_LOAD_TLS ... -lssl -lcrypto)\n");
  return -1;
}
static inline struct tls *tls_attach(int fd) { return (void)fd, NULL; }
static inline ssize_t tls_read(struct tls *t, void *b, size_t n) {
  return (void)t, (void)b, (void)n, -1;
}
static inline ssize_t tls_write(struct tls *t, const void *b, size_t n) {
  return (void)t, (void)b, (void)n, -1;
}
static inline int tls_wants_out(const struct tls *t) { return (void)t, 0; }
static inline const char *tls_describe(struct tls *t) { return (void)t, ""; }
static inline void tls_close(struct tls *t) { (void)t; }

#endif
#endif
