/*
 * dgram.h - a datagram receiver on the loop: a Unix datagram socket (with
 * the sender's pid, uid and gid from the kernel, SCM_CREDENTIALS) or a UDP
 * socket (with the kernel's drop count, SO_RXQ_OVFL). libuv's uv_udp_t
 * passes neither, so this is a uv_poll_t and recvmsg().
 *
 * Knows nothing of records: each datagram goes to the owner's callback, which
 * decides (take it, drop it while paused, refuse the sender).
 *
 * Ownership: the owner opens and closes; the struct is freed in its handle's
 * close callback, after which no callback runs.
 */
#ifndef SP_DGRAM_H
#define SP_DGRAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

/* The sender, as the kernel says; -1 unknown (UDP). */
struct sp_dgram_peer {
    long pid, uid, gid;
};

/* Counters the receiver adds to (the owner's, e.g. in struct sp_stats). */
struct sp_dgram_counts {
    uint64_t *received;       /* datagrams read */
    uint64_t *truncated;      /* over SP_DGRAM_MAX_BYTES: cut by the kernel, dropped */
    uint64_t *kernel_dropped; /* UDP: dropped by the kernel, its queue full (SO_RXQ_OVFL) */
};

typedef void (*sp_dgram_cb)(void *arg, const char *p, size_t n, const struct sp_dgram_peer *peer);

struct sp_dgram;

/* A Unix datagram socket at `path` with file mode `mode` (a stale socket
 * file is replaced; one in use by another process is not). 0 or -errno. */
int sp_dgram_open_unix(uv_loop_t *loop, const char *path, unsigned mode,
                       const struct sp_dgram_counts *counts, sp_dgram_cb cb, void *arg,
                       struct sp_dgram **out);
/* A UDP socket on `addr` (sp_dgram_addr_parse()). 0 or -errno. */
int sp_dgram_open_udp(uv_loop_t *loop, const struct sockaddr_storage *addr,
                      const struct sp_dgram_counts *counts, sp_dgram_cb cb, void *arg,
                      struct sp_dgram **out);
/* The bound address as HOST:PORT (UDP) or the path. */
void sp_dgram_address(const struct sp_dgram *d, char *buf, size_t n);
/* Stops reading, removes a Unix socket's file, frees once the handle closed. */
void sp_dgram_close(struct sp_dgram *d);

/* A UDP listener address: `HOST:PORT` (a numeric IPv4 address, `[IPv6]`, or
 * `localhost`; port 0 takes an ephemeral port) or `off`. 0 (filled), 1
 * (off) or -EINVAL. */
int sp_dgram_addr_parse(const char *s, struct sockaddr_storage *out);

#endif
