/*
 * datagram.c - the protocol's datagram socket: `<socket path>.dgram`, a Unix
 * datagram socket taking one or more NDJSON records per datagram of at most
 * SP_DGRAM_MAX_BYTES (docs/protocol.md), for functions that must never block.
 *
 * A datagram is self-contained: its lines go through the door one by one
 * (the NDJSON codec, as on the stream socket), a partial last line is
 * counted `incomplete`, and nothing is answered (flush and stats records are
 * ignored: there is no one to answer to). The sender's pid, uid and gid come
 * from the kernel with each datagram (SCM_CREDENTIALS, net/dgram.c).
 *
 * Flow control cannot push back on a datagram sender without blocking it, so
 * while input is paused this input keeps reading and drops what it reads,
 * counted dgram_dropped; the kernel's queue then stays short and a sender
 * using MSG_DONTWAIT is refused (EAGAIN) only when spindle truly falls behind.
 *
 * Ownership: struct col_datagram owns the receiver and the scratch arena.
 */
#include "datagram.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "caps.h"
#include "dgram.h"
#include "door.h"
#include "log.h"

struct col_datagram {
    struct spindle *sp;
    struct sp_dgram *rx;     /* NULL: not bound */
    int paused;
    struct sp_arena arena;   /* per-record scratch */
    char *path;
};

static void on_datagram(void *arg, const char *p, size_t n, const struct sp_dgram_peer *from)
{
    struct col_datagram *d = arg;
    struct spindle *sp = d->sp;
    struct sp_peer peer = {from->pid, from->uid, from->gid};
    if (d->paused) {
        sp->stats.dgram_dropped++;
        SP_LOG_RL(SP_LOG_WARN, "input paused: datagram dropped", "pid=%ld", peer.pid);
        return;
    }
    if (!sp_door_peer_allowed(sp, sp->cfg.socket_allowed_uids, sp->cfg.n_socket_allowed_uids,
                              &peer, "datagram")) {
        return;
    }
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(p + i, '\n', n - i);
        if (nl == NULL) {
            /* The last line without its newline: a datagram cannot continue
             * in the next one. Blank is fine, anything else is cut short. */
            size_t k = i;
            while (k < n && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r')) {
                k++;
            }
            if (k < n) {
                sp_door_reject(sp, &peer, SP_R_INCOMPLETE, NULL);
            }
            break;
        }
        size_t len = (size_t)(nl - p) - i;
        const char *line = p + i;
        i += len + 1;
        if (len && line[len - 1] == '\r') {
            len--;
        }
        if (len == 0) {
            continue;
        }
        if (len > sp->cfg.max_record_bytes) {
            sp_door_reject(sp, &peer, SP_R_TOO_LARGE, NULL);
            continue;
        }
        struct sp_door_out out;
        sp_door_ndjson(sp, &peer, &d->arena, line, len, &out);
    }
    sp_door_done(sp);
}

static int datagram_init(struct sp_input *in)
{
    struct spindle *sp = in->sp;
    struct col_datagram *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        return -ENOMEM;
    }
    d->sp = sp;
    size_t n = strlen(sp->cfg.socket_path) + sizeof(".dgram");
    d->path = malloc(n);
    if (d->path == NULL) {
        free(d);
        return -ENOMEM;
    }
    snprintf(d->path, n, "%s.dgram", sp->cfg.socket_path);
    sp_arena_init(&d->arena, 16384);
    sp_arena_account(&d->arena, &sp->mem.conns);
    in->priv = d;
    return 0;
}

static int datagram_start(struct sp_input *in)
{
    struct col_datagram *d = in->priv;
    struct spindle *sp = d->sp;
    if (!sp->cfg.socket_datagram) {
        return 0;
    }
    struct sp_dgram_counts counts = {&sp->stats.dgram_received, &sp->stats.dgram_truncated,
                                     &sp->stats.dgram_kernel_dropped};
    int rc = sp_dgram_open_unix(sp->loop, d->path, sp->cfg.socket_mode, &counts, on_datagram, d,
                                &d->rx);
    if (rc == -ENAMETOOLONG) {
        /* On by default: a stream socket path that fits with no room for
         * ".dgram" must not stop an agent that started before it existed. */
        SP_LOG(SP_LOG_WARN, "datagram socket path too long; datagram socket off",
               "path=\"%s\"", d->path);
        return 0;
    }
    if (rc) {
        SP_LOG(SP_LOG_ERROR, "cannot bind the datagram socket", "path=\"%s\" error=\"%s\"",
               d->path, strerror(-rc));
        return rc;
    }
    SP_LOG(SP_LOG_INFO, "datagram socket ready", "path=\"%s\"", d->path);
    return 0;
}

static void datagram_pause(struct sp_input *in)
{
    ((struct col_datagram *)in->priv)->paused = 1;
}

static void datagram_resume(struct sp_input *in)
{
    ((struct col_datagram *)in->priv)->paused = 0;
}

static void datagram_stop(struct sp_input *in)
{
    struct col_datagram *d = in->priv;
    if (d->rx) {
        sp_dgram_close(d->rx);
        d->rx = NULL;
    }
}

static void datagram_close(struct sp_input *in)
{
    struct col_datagram *d = in->priv;
    in->priv = NULL;
    if (d->rx) {
        sp_dgram_close(d->rx);
    }
    sp_arena_free(&d->arena);
    free(d->path);
    free(d);
}

const struct sp_input_ops col_datagram_input = {
    .name = "datagram",
    .init = datagram_init,
    .start = datagram_start,
    .pause = datagram_pause,
    .resume = datagram_resume,
    .durable = sp_input_durable_none,
    .stop_accepting = datagram_stop,
    .close = datagram_close,
};
