/*
 * Load generator of the echo benchmark (bench/echo.ts): one thread, epoll, level-triggered.
 *
 * Usage: echo_load [--tls <ca.pem>] <port> <connections> <depth> <warmup_s> <duration_s>
 *
 * Opens <connections> TCP connections to 127.0.0.1:<port> (never another host), at most 128
 * of them not yet answered at a time so the server's accept queue never overflows, each
 * sending one request and waiting: a server busy echoing accepts slowly, so the load starts
 * only once all are up. Then each keeps <depth> requests in flight: a request is a 64-byte
 * line (63 bytes naming the connection and the request's sequence number, then "\n"), and
 * every reply byte is compared with the line sent; a mismatch, a connection error or an
 * early end of input is reported on stderr and exits with status 2.
 *
 * Once every connection has had a reply, <warmup_s> seconds pass, then "measure" is printed on
 * stdout and replies are counted for <duration_s> seconds. Then no new request is sent, every
 * reply still due is awaited (at most 10 s), all connections are closed, and one JSON line is
 * printed: requests (replies in the window), seconds, rps, the generator's own CPU seconds in
 * the window (getrusage), connect_seconds, and min_conn / stalled (the fewest replies a single
 * connection got in the window, and how many got none).
 *
 * With --tls, every connection is a TLS client session (bench/echo_load_tls.c, built in only
 * with -DECHO_LOAD_TLS) that trusts only <ca.pem> and wants the name "localhost"; the JSON
 * then also names the negotiated version and cipher ("tls"). Handshakes happen while
 * connecting, so they are not in the window.
 *
 * Every phase has a deadline, so the program always ends.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "echo_load_tls.h"

#define LINE 64
#define MAX_CONNECTING 128
#define CONNECT_DEADLINE 60.0
#define DRAIN_DEADLINE 10.0

enum phase { CONNECTING, WARMUP, MEASURE, DRAIN };

struct conn {
  int fd;
  struct tls *tls;        /* the TLS session, with --tls */
  int up;                 /* has had its first reply */
  int want_out;           /* EPOLLOUT is armed */
  uint32_t id;
  uint64_t sent;          /* requests generated */
  uint64_t received;      /* complete replies checked */
  uint64_t window_start;  /* received when the measured window began */
  uint64_t in_window;     /* replies in the measured window */
  unsigned rx_pos;        /* bytes of the current reply seen */
  uint8_t expect[LINE];   /* the request the current reply must equal */
  uint8_t *out;           /* unsent request bytes: out[out_off, out_len) */
  size_t out_off, out_len;
};

static struct conn *conns;
static int nconns, depth, epfd;
static enum phase phase = CONNECTING;
static int waiting, up;   /* connections without a reply yet / with one */
static uint64_t replies;  /* replies checked so far */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what, int conn_id) {
  fprintf(stderr, "echo_load: connection %d: %s\n", conn_id, what);
  exit(2);
}

static void hex(uint8_t *p, uint64_t v, int digits) {
  static const char digit[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; i--, v >>= 4) p[i] = digit[v & 15];
}

/* Request `seq` of connection `id`: "iiiiiiii:ssssssssssssssss ", 37 letters starting at a
 * letter that depends on both, LF. */
static void make_line(uint8_t *p, uint32_t id, uint64_t seq) {
  hex(p, id, 8);
  p[8] = ':';
  hex(p + 9, seq, 16);
  p[25] = ' ';
  static const char letters[] = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
                                 "abcdefghijklmnopqrstuvwxyz";
  memcpy(p + 26, letters + (seq * 7 + id) % 26, LINE - 27);
  p[LINE - 1] = '\n';
}

static void set_events(struct conn *c, int want_out) {
  if (c->want_out == want_out) return;
  struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.u32 = c->id};
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl", c->id);
  c->want_out = want_out;
}

static ssize_t conn_read(struct conn *c, void *buf, size_t n) {
  return c->tls ? tls_read(c->tls, buf, n) : read(c->fd, buf, n);
}

static ssize_t conn_write(struct conn *c, const void *buf, size_t n) {
  return c->tls ? tls_write(c->tls, buf, n) : write(c->fd, buf, n);
}

/* Tops the connection up to `depth` requests in flight (none after the window) and writes. */
static void send_more(struct conn *c) {
  if (phase != DRAIN) {
    if (c->out_off > 0) {
      memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
      c->out_len -= c->out_off;
      c->out_off = 0;
    }
    /* While connecting, one request per connection: it proves the server accepted it. */
    uint64_t limit = phase == CONNECTING ? 1 : (uint64_t)depth;
    while (c->sent - c->received < limit && (phase != CONNECTING || c->sent == 0)) {
      make_line(c->out + c->out_len, c->id, c->sent++);
      c->out_len += LINE;
    }
  }
  while (c->out_off < c->out_len) {
    ssize_t n = conn_write(c, c->out + c->out_off, c->out_len - c->out_off);
    if (n < 0) {
      if (errno == EAGAIN) break;
      die(strerror(errno), c->id);
    }
    c->out_off += n;
  }
  if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
  /* A TLS session may wait for input before it can write (the handshake), or to write
   * before it can read. */
  set_events(c, c->tls ? tls_wants_out(c->tls) : c->out_len > 0);
}

/* Checks the bytes read against the requests sent; returns how many replies completed. */
static int check(struct conn *c, const uint8_t *p, size_t n) {
  int done = 0;
  while (n > 0) {
    if (c->received >= c->sent) die("reply to a request that was never sent", c->id);
    if (c->rx_pos == 0) make_line(c->expect, c->id, c->received);
    size_t k = LINE - c->rx_pos;
    if (k > n) k = n;
    if (memcmp(p, c->expect + c->rx_pos, k) != 0) {
      fprintf(stderr, "echo_load: connection %u, request %llu: reply differs\n  sent: %.63s\n",
              c->id, (unsigned long long)c->received, (const char *)c->expect);
      for (size_t i = 0; i < k; i++) {
        if (p[i] != c->expect[c->rx_pos + i]) {
          fprintf(stderr, "  first difference at byte %zu: got 0x%02x, expected 0x%02x\n",
                  c->rx_pos + i, p[i], c->expect[c->rx_pos + i]);
          break;
        }
      }
      exit(2);
    }
    c->rx_pos += k;
    p += k;
    n -= k;
    if (c->rx_pos == LINE) {
      c->rx_pos = 0;
      c->received++;
      done++;
    }
  }
  return done;
}

/* Reads what the server sent, checks it, and sends more requests for the replies. A plain
 * socket is read once (epoll reports the rest); a TLS session until it would block, because
 * records it has already read from the socket are invisible to epoll. */
static void on_input(struct conn *c) {
  static uint8_t buf[65536];
  int done = 0;
  for (;;) {
    ssize_t r = conn_read(c, buf, sizeof buf);
    if (r == 0) die("end of input from the server", c->id);
    if (r < 0 && errno != EAGAIN) die(strerror(errno), c->id);
    if (r < 0) break;
    done += check(c, buf, r);
    if (!c->tls) break;
  }
  replies += done;
  if (done > 0 && !c->up) {
    c->up = 1;
    waiting--;
    up++;
  }
  /* A TLS write that waited for the handshake's input is retried now. */
  if (done > 0 || (c->tls && c->out_off < c->out_len)) send_more(c);
}

static int open_conn(int id, int port, int tls) {
  struct conn *c = &conns[id];
  c->id = id;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0) die(strerror(errno), id);
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
    die(strerror(errno), id);
  }
  if (tls && (c->tls = tls_attach(c->fd)) == NULL) die("cannot start a TLS session", id);
  c->out = malloc((size_t)depth * LINE);
  if (c->out == NULL) die("out of memory", id);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = id};
  c->want_out = 1;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl", id);
  return 0;
}

static void raise_nofile(int needed) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur >= (rlim_t)needed) return;
  if (rl.rlim_max < (rlim_t)needed) {
    fprintf(stderr, "echo_load: need %d descriptors, hard limit is %llu\n", needed,
            (unsigned long long)rl.rlim_max);
    exit(2);
  }
  rl.rlim_cur = needed;
  if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
    perror("echo_load: setrlimit");
    exit(2);
  }
}

int main(int argc, char **argv) {
  int tls = argc > 2 && strcmp(argv[1], "--tls") == 0;
  if (tls) {
    if (tls_setup(argv[2]) < 0) return 2;
    argc -= 2;
    argv += 2;
  }
  if (argc != 6) {
    fprintf(stderr, "usage: echo_load [--tls <ca.pem>] <port> <connections> <depth> <warmup_s> "
                    "<duration_s>\n");
    return 2;
  }
  int port = atoi(argv[1]);
  nconns = atoi(argv[2]);
  depth = atoi(argv[3]);
  double warmup = atof(argv[4]), duration = atof(argv[5]);
  if (port <= 0 || port > 65535 || nconns <= 0 || depth <= 0 || depth > 1024 ||
      !(warmup >= 0) || !(duration > 0) || duration > 600) {
    fprintf(stderr, "echo_load: bad arguments\n");
    return 2;
  }
  raise_nofile(nconns + 64);
  conns = calloc(nconns, sizeof *conns);
  epfd = epoll_create1(0);
  if (conns == NULL || epfd < 0) die("setup failed", -1);

  static struct epoll_event events[1024];
  int opened = 0;
  double t0 = now(), phase_end = t0 + CONNECT_DEADLINE, connect_seconds = 0;
  double window_t0 = 0, window_cpu0 = 0, window_seconds = 0, window_cpu = 0;
  uint64_t window_replies0 = 0, window_replies = 0, due = 0;

  for (;;) {
    while (phase == CONNECTING && opened < nconns && waiting < MAX_CONNECTING) {
      open_conn(opened++, port, tls);
      waiting++;
    }
    int n = epoll_wait(epfd, events, 1024, 10);
    if (n < 0 && errno != EINTR) die("epoll_wait", -1);
    for (int i = 0; i < n; i++) {
      struct conn *c = &conns[events[i].data.u32];
      if (events[i].events & (EPOLLERR | EPOLLHUP)) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        die(err ? strerror(err) : "connection closed by the server", c->id);
      }
      /* A TLS session that waited for the socket to be writable may have been reading. */
      if ((events[i].events & EPOLLIN) || c->tls) on_input(c);
      if (events[i].events & EPOLLOUT) send_more(c);
    }

    double t = now();
    if (phase == CONNECTING && up == nconns) {
      connect_seconds = t - t0;
      phase = WARMUP;
      phase_end = t + warmup;
      for (int k = 0; k < nconns; k++) send_more(&conns[k]);
    } else if (phase == WARMUP && t >= phase_end) {
      phase = MEASURE;
      phase_end = t + duration;
      window_t0 = t;
      window_cpu0 = cpu_seconds();
      window_replies0 = replies;
      for (int k = 0; k < nconns; k++) conns[k].window_start = conns[k].received;
      printf("measure\n");
      fflush(stdout);
    } else if (phase == MEASURE && t >= phase_end) {
      window_seconds = t - window_t0;
      window_cpu = cpu_seconds() - window_cpu0;
      window_replies = replies - window_replies0;
      for (int k = 0; k < nconns; k++) {
        conns[k].in_window = conns[k].received - conns[k].window_start;
      }
      phase = DRAIN;
      phase_end = t + DRAIN_DEADLINE;
    } else if (phase == DRAIN) {
      due = 0;
      for (int k = 0; k < nconns; k++) due += conns[k].sent - conns[k].received;
      if (due == 0) break;
    }
    if (phase != MEASURE && phase != WARMUP && t >= phase_end) {
      fprintf(stderr, "echo_load: %s timed out (%d of %d connections up, %llu replies due)\n",
              phase == CONNECTING ? "connecting" : "waiting for the last replies", up, nconns,
              (unsigned long long)due);
      return 2;
    }
  }

  uint64_t min_conn = UINT64_MAX;
  int stalled = 0;
  for (int k = 0; k < nconns; k++) {
    uint64_t got = conns[k].in_window;
    if (got < min_conn) min_conn = got;
    if (got == 0) stalled++;
  }
  printf("{\"requests\":%llu,\"seconds\":%.4f,\"rps\":%.1f,\"cpu_seconds\":%.4f,"
         "\"connect_seconds\":%.3f,\"min_conn\":%llu,\"stalled\":%d,\"tls\":\"%s\"}\n",
         (unsigned long long)window_replies, window_seconds, window_replies / window_seconds,
         window_cpu, connect_seconds, (unsigned long long)min_conn, stalled,
         tls ? tls_describe(conns[0].tls) : "");
  for (int k = 0; k < nconns; k++) {
    tls_close(conns[k].tls);
    close(conns[k].fd);
  }
  return 0;
}
