/*
 * TLS client sessions for bench/echo_load.c (see echo_load_tls.h), with OpenSSL.
 *
 * The sockets are non-blocking and polled level-triggered: SSL_read and SSL_write drive the
 * handshake themselves, and SSL_ERROR_WANT_READ / WANT_WRITE become EAGAIN, with
 * tls_wants_out telling the caller which readiness to wait for. Read-ahead is on (one
 * read() takes every record the kernel has, not a header and a body per record), so decrypted
 * input may wait inside OpenSSL where epoll cannot see it: the caller reads until EAGAIN.
 * Writes may be partial and the caller's buffer may move between retries (it is compacted and
 * topped up), which OpenSSL allows only with the two modes set below.
 */
#define _GNU_SOURCE
#include "echo_load_tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

struct tls {
  SSL *ssl;
  int wants_out;
  char description[96];
};

static SSL_CTX *ctx;

int tls_setup(const char *ca_file) {
  ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
    fprintf(stderr, "echo_load: cannot load the CA %s:\n", ca_file);
    ERR_print_errors_fp(stderr);
    return -1;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return 0;
}

struct tls *tls_attach(int fd) {
  struct tls *t = calloc(1, sizeof *t);
  if (t == NULL || (t->ssl = SSL_new(ctx)) == NULL) return free(t), NULL;
  SSL_set_fd(t->ssl, fd);
  SSL_set_connect_state(t->ssl);
  /* SNI and the name the certificate must carry (tests/certs/server.pem: localhost). */
  SSL_set_tlsext_host_name(t->ssl, "localhost");
  SSL_set1_host(t->ssl, "localhost");
  return t;
}

/* Maps the result `r` of SSL_read or SSL_write to the read()/write() convention. */
static ssize_t result(struct tls *t, int r) {
  if (r > 0) {
    t->wants_out = 0;
    return r;
  }
  switch (SSL_get_error(t->ssl, r)) {
    case SSL_ERROR_WANT_READ:
      t->wants_out = 0;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_WANT_WRITE:
      t->wants_out = 1;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN: /* close_notify */
      return 0;
    case SSL_ERROR_SYSCALL:
      if (errno != 0 && errno != EAGAIN) return -1;
      return 0; /* the socket ended without close_notify */
    default: {
      long verify = SSL_get_verify_result(t->ssl);
      if (verify != X509_V_OK) {
        fprintf(stderr, "echo_load: certificate: %s\n", X509_verify_cert_error_string(verify));
      }
      ERR_print_errors_fp(stderr);
      errno = EPROTO;
      return -1;
    }
  }
}

ssize_t tls_read(struct tls *t, void *buf, size_t n) {
  ERR_clear_error();
  errno = 0;
  return result(t, SSL_read(t->ssl, buf, (int)n));
}

ssize_t tls_write(struct tls *t, const void *buf, size_t n) {
  ERR_clear_error();
  errno = 0;
  return result(t, SSL_write(t->ssl, buf, (int)n));
}

int tls_wants_out(const struct tls *t) { return t->wants_out; }

const char *tls_describe(struct tls *t) {
  snprintf(t->description, sizeof t->description, "%s %s", SSL_get_version(t->ssl),
           SSL_get_cipher_name(t->ssl));
  return t->description;
}

void tls_close(struct tls *t) {
  if (t == NULL) return;
  SSL_shutdown(t->ssl);
  SSL_free(t->ssl);
  free(t);
}
