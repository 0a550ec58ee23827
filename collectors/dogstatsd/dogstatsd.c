/*
 * dogstatsd.c - the DogStatsD input: a Unix datagram socket (statsd.socket,
 * --statsd-socket; what a function's DD_DOGSTATSD_SOCKET names) and UDP
 * (statsd.listen; DD_AGENT_HOST and DD_DOGSTATSD_PORT), both off unless
 * configured. Each datagram goes whole through the door
 * (sp_door_dogstatsd(): parsed by dsd_parse.c, journaled as
 * SP_CODEC_DOGSTATSD, metrics to the aggregator, events and service checks
 * to the logs).
 *
 * A datagram sender cannot be pushed back on without blocking it: while
 * input is paused datagrams are read and dropped, counted dgram_dropped. On
 * the Unix socket the sender's pid and uid come from the kernel
 * (statsd.allowed_uids); UDP senders are anonymous and the kernel's own drops
 * are counted dgram_kernel_dropped.
 *
 * Ownership: struct col_dogstatsd owns both receivers and the scratch arena.
 */
#include "dogstatsd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "caps.h"
#include "dgram.h"
#include "door.h"
#include "log.h"

struct col_dogstatsd {
    struct spindle *sp;
    struct sp_dgram *unix_rx; /* NULL: off */
    struct sp_dgram *udp_rx;  /* NULL: off */
    int paused;
    struct sp_arena arena;    /* the door's scratch, per datagram */
};

static void take(struct col_dogstatsd *d, const char *p, size_t n,
                 const struct sp_dgram_peer *from, int is_unix)
{
    struct spindle *sp = d->sp;
    struct sp_peer peer = {from->pid, from->uid, from->gid};
    if (d->paused) {
        sp->stats.dgram_dropped++;
        SP_LOG_RL(SP_LOG_WARN, "input paused: statsd datagram dropped", "pid=%ld", peer.pid);
        return;
    }
    if (is_unix && !sp_door_peer_allowed(sp, sp->cfg.statsd_allowed_uids,
                                         sp->cfg.n_statsd_allowed_uids, &peer, "statsd")) {
        return;
    }
    sp_door_dogstatsd(sp, &peer, &d->arena, p, n);
    sp_door_done(sp);
}

static void on_unix(void *arg, const char *p, size_t n, const struct sp_dgram_peer *from)
{
    take(arg, p, n, from, 1);
}

static void on_udp(void *arg, const char *p, size_t n, const struct sp_dgram_peer *from)
{
    take(arg, p, n, from, 0);
}

static int dsd_init(struct sp_input *in)
{
    struct col_dogstatsd *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        return -ENOMEM;
    }
    d->sp = in->sp;
    sp_arena_init(&d->arena, 16384);
    sp_arena_account(&d->arena, &in->sp->mem.conns);
    in->priv = d;
    return 0;
}

static void close_all(struct col_dogstatsd *d)
{
    if (d->unix_rx) {
        sp_dgram_close(d->unix_rx);
        d->unix_rx = NULL;
    }
    if (d->udp_rx) {
        sp_dgram_close(d->udp_rx);
        d->udp_rx = NULL;
    }
}

static int dsd_start(struct sp_input *in)
{
    struct col_dogstatsd *d = in->priv;
    struct spindle *sp = d->sp;
    struct sp_dgram_counts counts = {&sp->stats.dgram_received, &sp->stats.dgram_truncated,
                                     &sp->stats.dgram_kernel_dropped};
    char where[300];
    int rc;
    if (sp->cfg.statsd_socket[0]) {
        rc = sp_dgram_open_unix(sp->loop, sp->cfg.statsd_socket, sp->cfg.socket_mode, &counts,
                                on_unix, d, &d->unix_rx);
        if (rc) {
            SP_LOG(SP_LOG_ERROR, "cannot bind the statsd socket", "path=\"%s\" error=\"%s\"",
                   sp->cfg.statsd_socket, strerror(-rc));
            return rc;
        }
        SP_LOG(SP_LOG_INFO, "statsd socket ready", "path=\"%s\"", sp->cfg.statsd_socket);
    }
    struct sockaddr_storage ss;
    rc = sp_dgram_addr_parse(sp->cfg.statsd_listen, &ss);
    if (rc < 0) {
        SP_LOG(SP_LOG_ERROR, "statsd.listen must be HOST:PORT or off", "listen=\"%s\"",
               sp->cfg.statsd_listen);
        close_all(d);
        return rc;
    }
    if (rc == 0) {
        rc = sp_dgram_open_udp(sp->loop, &ss, &counts, on_udp, d, &d->udp_rx);
        if (rc) {
            SP_LOG(SP_LOG_ERROR, "cannot listen for statsd", "listen=\"%s\" error=\"%s\"",
                   sp->cfg.statsd_listen, strerror(-rc));
            close_all(d);
            return rc;
        }
        sp_dgram_address(d->udp_rx, where, sizeof(where));
        SP_LOG(SP_LOG_INFO, "statsd listening", "listen=%s", where);
    }
    return 0;
}

static void dsd_pause(struct sp_input *in)
{
    ((struct col_dogstatsd *)in->priv)->paused = 1;
}

static void dsd_resume(struct sp_input *in)
{
    ((struct col_dogstatsd *)in->priv)->paused = 0;
}

static void dsd_stop(struct sp_input *in)
{
    close_all(in->priv);
}

static void dsd_close(struct sp_input *in)
{
    struct col_dogstatsd *d = in->priv;
    in->priv = NULL;
    close_all(d);
    sp_arena_free(&d->arena);
    free(d);
}

const struct sp_input_ops col_dogstatsd_input = {
    .name = "statsd",
    .init = dsd_init,
    .start = dsd_start,
    .pause = dsd_pause,
    .resume = dsd_resume,
    .durable = sp_input_durable_none,
    .stop_accepting = dsd_stop,
    .close = dsd_close,
};
