/*
 * socket.c - the Unix stream socket collector.
 *
 * Reads go into one scratch buffer the collector shares (a read chunk plus
 * room for a small partial record carried over), are split on newlines and
 * every complete line is parsed in place: no copy and no syscall per record.
 * A connection owns only what is left over (a partial record, or complete
 * records input paused before): memory is reserved on demand, so a thousand
 * clients that each sent `{` hold a thousand small buffers, not a thousand
 * max_record_bytes (limits.max_memory counts what each one really holds). A
 * partial record too big to carry into the scratch is read into the
 * connection's own buffer, grown up to max_record_bytes + one read chunk.
 * A partial line longer than max_record_bytes switches
 * the connection to discarding until the next newline (too_large, counted
 * once). Acks and stats replies are written on the same connection; a client
 * that does not read them is not read from either once SP_MAX_PENDING_WRITE_BYTES
 * are unread (the kernel then pushes back on it).
 *
 * Every complete line goes through the door into the core (agent/door.h),
 * which parses, counts, journals and routes it; this file only frames lines,
 * keeps each connection's ack window and answers control records. With the
 * journal on, a flush ack waits (in the connection's `acks` list, in order)
 * until the journal is durable up to the position the door gave it. A client that
 * half-closes (EOF) is not read any more but is closed only once every reply
 * it is owed has been written.
 *
 * While input is paused no connection is read, so libuv cannot report a
 * hang-up: a probe timer peeks at every connection (recv MSG_PEEK) and handles
 * a peer that is gone with nothing left to read as a read would have (its
 * memory is freed), and asks flow control to look again, so that a pause ends
 * once what is held drops, whatever caused it.
 *
 * The core drives this input only through its slots (col_socket_input).
 *
 * Ownership: struct col_socket owns the listener, the scratch buffer and
 * every connection; a connection's memory (and its waiting acks) is freed in
 * its handle's close callback.
 */
#include "socket.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "caps.h"
#include "door.h"
#include "fs.h"
#include "log.h"

/* An ack waiting for the journal. */
struct ack_wait {
    struct ack_wait *next;
    uint64_t pos;            /* journal position it covers */
    size_t len;
    char data[];
};

struct conn {
    uv_pipe_t pipe;          /* first: the handle's address is the conn's */
    uv_timer_t idle;
    struct col_socket *s;
    struct conn *prev, *next;
    char *buf;               /* received bytes not yet parsed: `own`, or the scratch inside read_cb */
    size_t len;
    char *own;               /* the connection's own buffer (NULL: holds nothing) */
    size_t own_cap;
    size_t held;             /* bytes this connection adds to sp->mem.conns (struct and own) */
    int discarding;          /* inside an over-long record: skip to the newline */
    int closing;
    int handles;             /* open uv handles; the last close frees the conn */
    int paused;              /* reading stopped for unread replies */
    int in_process;          /* inside process(): never re-entered */
    int half_closed;         /* the client sent EOF: close once every owed reply is written */
    struct sp_peer peer;     /* pid, uid, gid from SO_PEERCRED, -1 unknown */
    size_t pending_write;    /* reply bytes not yet written */
    uint64_t accepted;       /* since the previous flush */
    uint64_t rejected;
    int first_error;         /* enum sp_reason, 0 none */
    struct ack_wait *acks, **acks_tail; /* waiting for the journal, oldest first */
    struct sp_arena arena;   /* per-record scratch */
};

struct col_socket {
    struct spindle *sp;
    uv_pipe_t listener;
    int listening;
    int started;             /* socket_start() bound the listener */
    int freeing;             /* socket_close() was called: free when handles closed */
    int handles;             /* listener + resume and probe timers not yet closed */
    int paused;              /* backpressure: no connection is read */
    uv_timer_t resume;       /* runs the buffered records after a pause, on a fresh stack */
    uv_timer_t probe;        /* while paused: finds hung-up peers, re-checks backpressure */
    char *scratch;           /* SCRATCH_BYTES: every read lands here unless a big partial waits */
    struct conn *conns;
    size_t n_conns;
    char *path;
};

struct write_req {
    uv_write_t req;
    struct conn *c;
    size_t len;
    char data[];
};

/* Reads go to the shared scratch when the connection's partial record fits
 * in front of a full chunk: the usual case (records of a few KiB) costs one
 * small copy per read and no per-connection read buffer. */
#define SCRATCH_CARRY (16u * 1024u)
#define SCRATCH_BYTES (SP_READ_CHUNK + SCRATCH_CARRY)
/* While paused, hung-up peers are looked for this often: one recv(MSG_PEEK)
 * per connection, ~4 syscalls a second each. */
#define PROBE_MS 250u

static void conn_close(struct conn *c);
static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *out);
static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *b);
static void conn_hangup(struct conn *c, int err);

static void conn_handle_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->handles == 0) {
        while (c->acks) {
            struct ack_wait *a = c->acks;
            c->acks = a->next;
            free(a);
        }
        sp_arena_free(&c->arena);
        free(c->own);
        free(c);
    }
}

/* A connection is read unless its own replies back up or the agent is paused. */
static void idle_cb(uv_timer_t *t);

static void conn_update_reading(struct conn *c)
{
    if (c->closing || c->half_closed) {
        return; /* after EOF libuv has stopped reading; starting again would only repeat EOF */
    }
    int want = !c->paused && !c->s->paused;
    if (want) {
        uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb);
    } else {
        uv_read_stop((uv_stream_t *)&c->pipe);
    }
    /* Time the agent holds a client back is not the client's idleness. */
    if (c->s->paused) {
        uv_timer_stop(&c->idle);
    } else if (!uv_is_active((uv_handle_t *)&c->idle)) {
        uint64_t t = c->s->sp->cfg.conn_idle_timeout_ms;
        uv_timer_start(&c->idle, idle_cb, t, t);
    }
}

/* A half-closed connection is closed once it is owed nothing: no reply
 * waiting for the journal and none still being written. */
static void conn_finish_if_done(struct conn *c)
{
    if (c->half_closed && c->pending_write == 0) {
        conn_close(c);
    }
}

static void write_done(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct conn *c = w->c;
    c->pending_write -= w->len;
    free(w);
    (void)status;
    conn_finish_if_done(c);
    if (c->paused && !c->closing && c->pending_write < SP_MAX_PENDING_WRITE_BYTES / 2) {
        c->paused = 0;
        conn_update_reading(c);
    }
}

static void conn_reply(struct conn *c, const char *p, size_t n)
{
    if (c->closing) {
        return;
    }
    struct write_req *w = malloc(sizeof(*w) + n);
    if (w == NULL) {
        return;
    }
    memcpy(w->data, p, n);
    w->c = c;
    w->len = n;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, write_done)) {
        free(w);
        return;
    }
    c->pending_write += n;
}

/* Replies go out in the order they were asked for. An ack (`durable`) also
 * waits until the journal holds every record before it; any reply asked for
 * after such an ack waits behind it (see socket_durable()). */
static void reply_in_order(struct conn *c, const char *p, size_t n, int durable)
{
    uint64_t pos = durable ? sp_door_ack_pos(c->s->sp) : 0;
    if (c->acks == NULL && pos == 0) {
        conn_reply(c, p, n);
        return;
    }
    struct ack_wait *a = malloc(sizeof(*a) + n);
    if (a == NULL) {
        return;
    }
    a->next = NULL;
    a->pos = pos;
    a->len = n;
    memcpy(a->data, p, n);
    *c->acks_tail = a;
    c->acks_tail = &a->next;
    c->pending_write += a->len; /* a client flooding flushes is paused like one not reading */
}

static void reply_ack(struct conn *c, struct sp_str id)
{
    struct sp_buf b;
    sp_buf_init(&b, SP_MAX_ACK_ID_BYTES * 6 + 256);
    int rc = sp_buf_adds(&b, "{\"ack\":");
    rc |= sp_buf_add_json_str(&b, id.p, id.len);
    rc |= sp_buf_printf(&b, ",\"accepted\":%" PRIu64 ",\"rejected\":%" PRIu64 ",\"first_error\":",
                        c->accepted, c->rejected);
    if (c->first_error) {
        rc |= sp_buf_printf(&b, "\"%s\"}\n", sp_reason_name(c->first_error));
    } else {
        rc |= sp_buf_adds(&b, "null}\n");
    }
    if (rc == 0) {
        reply_in_order(c, b.p, b.len, 1);
    }
    sp_buf_free(&b);
    c->accepted = 0;
    c->rejected = 0;
    c->first_error = 0;
}

/* A control record whose id cannot be echoed still gets its one reply line,
 * so the client never waits for ever; it is not counted and a flush's window
 * (accepted, rejected, first_error) goes on to the next flush untouched. */
static void reply_id_too_long(struct conn *c, int type)
{
    if (type == SP_REC_FLUSH) {
        static const char line[] = "{\"ack\":null,\"error\":\"id_too_long\"}\n";
        reply_in_order(c, line, sizeof(line) - 1, 0);
    } else {
        static const char line[] = "{\"stats\":null,\"error\":\"id_too_long\"}\n";
        reply_in_order(c, line, sizeof(line) - 1, 0);
    }
}

static void reply_stats(struct conn *c, struct sp_str id)
{
    struct spindle *sp = c->s->sp;
    struct sp_buf b;
    sp_buf_init(&b, 64 * 1024);
    uint64_t up = (uv_now(sp->loop) - sp->started_ms) / 1000u;
    if (sp_stats_json(&sp->stats, id, up, &b) == 0 && sp_buf_addc(&b, '\n') == 0) {
        reply_in_order(c, b.p, b.len, 0);
    }
    sp_buf_free(&b);
}

/* A rejection in this connection's ack window (the door counted it). */
static void window_reject(struct conn *c, int reason)
{
    c->rejected++;
    if (!c->first_error) {
        c->first_error = reason;
    }
}

/* A framing rejection found here (too_large, incomplete). */
static void reject(struct conn *c, int reason)
{
    sp_door_reject(c->s->sp, &c->peer, reason, NULL);
    window_reject(c, reason);
}

static int blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') {
            return 0;
        }
    }
    return 1;
}

/* A connection ending with part of a record buffered: counted `incomplete`. */
static void count_partial(struct conn *c)
{
    if (c->len && !blank(c->buf, c->len) && !c->discarding) {
        reject(c, SP_R_INCOMPLETE);
    }
}

static void handle_line(struct conn *c, const char *p, size_t n)
{
    if (blank(p, n)) {
        return;
    }
    if (n > c->s->sp->cfg.max_record_bytes) {
        reject(c, SP_R_TOO_LARGE);
        return;
    }
    struct sp_door_out out;
    sp_door_ndjson(c->s->sp, &c->peer, &c->arena, p, n, &out);
    if (out.reason) {
        window_reject(c, out.reason);
    } else if (out.control == 0) {
        c->accepted++;
    } else if (out.id_too_long) {
        reply_id_too_long(c, out.control);
    } else if (out.control == SP_REC_FLUSH) {
        /* Every earlier record of this connection has been handled by now:
         * lines are processed in order, synchronously. */
        reply_ack(c, out.id);
    } else {
        reply_stats(c, out.id);
    }
}

/* What the connection holds (its struct, its own buffer) in sp->mem.conns,
 * in the allocator's real sizes. */
static void conn_account(struct conn *c)
{
    if (c->closing) {
        return; /* conn_close() took it out of the account; the close callback frees it */
    }
    size_t now = malloc_usable_size(c) + (c->own ? malloc_usable_size(c->own) : 0);
    c->s->sp->mem.conns += now;
    c->s->sp->mem.conns -= c->held;
    c->held = now;
}

/* The own buffer holds at least `need` bytes (0: releases it). Shrinks a
 * buffer far bigger than what it holds. 0 or -ENOMEM (the buffer is kept). */
static int own_fit(struct conn *c, size_t need)
{
    if (need == 0) {
        free(c->own);
        c->own = NULL;
        c->own_cap = 0;
        conn_account(c);
        return 0;
    }
    size_t want = (need + 1023u) & ~(size_t)1023u;
    if (c->own_cap >= need && c->own_cap <= want + SCRATCH_CARRY) {
        return 0;
    }
    char *p = realloc(c->own, want);
    if (p == NULL) {
        return c->own_cap >= need ? 0 : -ENOMEM;
    }
    c->own = p;
    c->own_cap = want;
    conn_account(c);
    return 0;
}

static int on_scratch(const struct conn *c, const char *p)
{
    return p >= c->s->scratch && p < c->s->scratch + SCRATCH_BYTES;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    struct conn *c = h->data;
    (void)suggested;
    if (c->len <= SCRATCH_CARRY) {
        /* The partial record goes in front of the chunk; the own buffer
         * keeps it too until read_cb knows that bytes arrived. */
        if (c->len) {
            memcpy(c->s->scratch, c->own, c->len);
        }
        *out = uv_buf_init(c->s->scratch + c->len, SP_READ_CHUNK);
        return;
    }
    /* process() leaves at most max_record_bytes behind, so room >= one chunk. */
    if (own_fit(c, c->len + SP_READ_CHUNK)) {
        *out = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS to read_cb */
        return;
    }
    c->buf = c->own;
    *out = uv_buf_init(c->own + c->len, SP_READ_CHUNK);
}

/* Handles every complete line in the buffer, unless the agent pauses input
 * part-way: then the rest stays buffered, in order, until socket_resume()
 * (or shutdown) handles it. */
static void process(struct conn *c)
{
    size_t start = 0;
    int stopped = 0;
    if (c->in_process) {
        return; /* a record's side effects reached back here: the outer call goes on */
    }
    c->in_process = 1;
    for (;;) {
        if (c->s->paused && !c->discarding) {
            stopped = 1;
            break;
        }
        char *nl = memchr(c->buf + start, '\n', c->len - start);
        if (nl == NULL) {
            break;
        }
        size_t end = (size_t)(nl - c->buf);
        if (c->discarding) {
            c->discarding = 0; /* the over-long record ends here */
        } else {
            handle_line(c, c->buf + start, end - start);
        }
        start = end + 1;
    }
    c->in_process = 0;
    size_t rest = c->len - start;
    if (c->discarding) {
        c->len = 0; /* still inside the over-long record */
        return;
    }
    if (!stopped && rest > c->s->sp->cfg.max_record_bytes) {
        reject(c, SP_R_TOO_LARGE);
        c->discarding = 1;
        c->len = 0;
        return;
    }
    if (start) {
        memmove(c->buf, c->buf + start, rest);
    }
    c->len = rest;
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
    struct conn *c = st->data;
    struct spindle *sp = c->s->sp;
    if (nread > 0) {
        if (on_scratch(c, b->base)) {
            c->buf = c->s->scratch; /* the partial was copied in front by alloc_cb */
        }
        c->len += (size_t)nread;
        uv_timer_again(&c->idle);
        process(c);
        if (c->buf != c->own) {
            /* What is left moves off the scratch into a buffer of its size. */
            if (c->len && own_fit(c, c->len) == 0) {
                memcpy(c->own, c->buf, c->len);
            } else if (c->len) {
                reject(c, SP_R_TOO_LARGE); /* out of memory: the rest is lost, counted */
                c->discarding = 1;
                c->len = 0;
            }
            c->buf = c->own;
        }
        if (c->len == 0) {
            own_fit(c, 0);
            sp_arena_free(&c->arena); /* an idle connection holds nothing */
        } else {
            own_fit(c, c->len);
        }
        c->buf = c->own;
        if (c->pending_write >= SP_MAX_PENDING_WRITE_BYTES && !c->paused) {
            c->paused = 1;
        }
        sp_door_done(sp); /* flow control: the memory these records took */
        conn_update_reading(c); /* the records just handled may have paused the agent */
        return;
    }
    if (nread == 0) {
        return;
    }
    conn_hangup(c, (int)nread);
}

/* The peer went away (UV_EOF) or the connection failed (a read error). */
static void conn_hangup(struct conn *c, int err)
{
    if (err != UV_EOF) {
        SP_LOG_RL(SP_LOG_INFO, "connection read error", "pid=%ld error=%s", c->peer.pid,
                  uv_strerror(err));
    }
    count_partial(c); /* the client went away in the middle of a record */
    if (err == UV_EOF) {
        /* A half-close (socat, shutdown(SHUT_WR), a node socket.end()) still
         * reads every reply it is owed, acks waiting for the journal included:
         * the connection closes once they are written. */
        c->len = 0;
        own_fit(c, 0); /* nothing more will be read: hold nothing */
        c->buf = c->own;
        c->half_closed = 1;
        conn_finish_if_done(c);
        return;
    }
    conn_close(c);
}

static void idle_cb(uv_timer_t *t)
{
    struct conn *c = t->data;
    struct spindle *sp = c->s->sp;
    sp->stats.conn_closed_idle++;
    SP_LOG_RL(SP_LOG_INFO, "idle connection closed", "pid=%ld idle_ms=%" PRIu64, c->peer.pid,
              sp->cfg.conn_idle_timeout_ms);
    count_partial(c);
    conn_close(c);
}

static void conn_close(struct conn *c)
{
    if (c->closing) {
        return;
    }
    c->closing = 1;
    struct col_socket *s = c->s;
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        s->conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    s->n_conns--;
    s->sp->stats.conn_open--;
    s->sp->mem.conns -= c->held;
    c->held = 0;
    uv_close((uv_handle_t *)&c->idle, conn_handle_closed);
    uv_close((uv_handle_t *)&c->pipe, conn_handle_closed);
}

static void refused_closed(uv_handle_t *h)
{
    free(h);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct col_socket *s = server->data;
    struct spindle *sp = s->sp;
    if (status < 0) {
        SP_LOG_RL(SP_LOG_WARN, "accept failed", "error=%s", uv_strerror(status));
        return;
    }
    if (s->n_conns >= sp->cfg.max_connections) {
        uv_pipe_t *p = malloc(sizeof(*p));
        if (p && uv_pipe_init(sp->loop, p, 0) == 0) {
            uv_accept(server, (uv_stream_t *)p);
            uv_close((uv_handle_t *)p, refused_closed);
        } else {
            free(p);
        }
        sp->stats.conn_refused_limit++;
        SP_LOG_RL(SP_LOG_WARN, "connection refused: limit reached", "max_connections=%" PRIu64,
                  sp->cfg.max_connections);
        return;
    }
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return;
    }
    c->s = s;
    c->peer = (struct sp_peer){-1, -1, -1};
    c->acks_tail = &c->acks;
    sp_arena_init(&c->arena, 16384);
    sp_arena_account(&c->arena, &sp->mem.conns);
    uv_pipe_init(sp->loop, &c->pipe, 0);
    c->pipe.data = c;
    c->handles = 1;
    if (uv_accept(server, (uv_stream_t *)&c->pipe)) {
        uv_close((uv_handle_t *)&c->pipe, conn_handle_closed);
        return;
    }
    uv_timer_init(sp->loop, &c->idle);
    c->idle.data = c;
    c->handles = 2;
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0) {
        struct ucred cred;
        socklen_t len = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
            c->peer = (struct sp_peer){cred.pid, cred.uid, cred.gid};
        }
    }
    if (!sp_door_peer_allowed(sp, sp->cfg.socket_allowed_uids, sp->cfg.n_socket_allowed_uids,
                              &c->peer, "socket")) {
        uv_close((uv_handle_t *)&c->idle, conn_handle_closed);
        uv_close((uv_handle_t *)&c->pipe, conn_handle_closed);
        return;
    }
    c->next = s->conns;
    if (s->conns) {
        s->conns->prev = c;
    }
    s->conns = c;
    s->n_conns++;
    conn_account(c);
    sp->stats.conn_accepted++;
    sp->stats.conn_open++;
    conn_update_reading(c); /* starts reading and the idle timer unless paused */
}

/* A socket file nobody answers on is stale and replaced; a live one (another
 * agent) or a file that is not a socket is never touched. */
static int check_path(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return errno == ENOENT ? 0 : -errno;
    }
    if (!S_ISSOCK(st.st_mode)) {
        SP_LOG(SP_LOG_ERROR, "socket path exists and is not a socket; not touching it",
               "path=\"%s\"", path);
        return -EEXIST;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    int err = errno;
    close(fd);
    if (rc == 0) {
        SP_LOG(SP_LOG_ERROR, "another agent is listening on the socket; not replacing it",
               "path=\"%s\"", path);
        return -EADDRINUSE;
    }
    if (err == ECONNREFUSED) {
        if (unlink(path) != 0) {
            return -errno;
        }
        SP_LOG(SP_LOG_INFO, "removed stale socket", "path=\"%s\"", path);
        return 0;
    }
    return -err;
}

static void handle_closed_cb(uv_handle_t *h)
{
    struct col_socket *s = h->data;
    if (--s->handles == 0 && s->freeing) {
        s->sp->mem.conns -= malloc_usable_size(s->scratch);
        free(s->scratch);
        free(s->path);
        free(s);
    }
}

/* The socket's own folder is private to the agent's user and group. */
static int mkdir_parent(const char *path)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir) {
        return 0;
    }
    *slash = 0;
    return sp_mkdirs(dir, 0750);
}

static int socket_init(struct sp_input *in)
{
    struct spindle *sp = in->sp;
    struct col_socket *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    s->sp = sp;
    s->path = strdup(sp->cfg.socket_path);
    s->scratch = malloc(SCRATCH_BYTES);
    if (s->path == NULL || s->scratch == NULL) {
        free(s->path);
        free(s->scratch);
        free(s);
        return -ENOMEM;
    }
    sp->mem.conns += malloc_usable_size(s->scratch);
    in->priv = s;
    return 0;
}

static int socket_start(struct sp_input *in)
{
    struct col_socket *s = in->priv;
    struct spindle *sp = s->sp;
    const char *path = s->path;
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        SP_LOG(SP_LOG_ERROR, "socket path too long", "path=\"%s\" max=%zu", path,
               sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
        return -ENAMETOOLONG;
    }
    int rc = mkdir_parent(path);
    if (rc) {
        SP_LOG(SP_LOG_ERROR, "cannot create the socket's folder", "path=\"%s\" error=\"%s\"",
               path, strerror(-rc));
        return rc;
    }
    if ((rc = check_path(path))) {
        return rc;
    }
    uv_pipe_init(sp->loop, &s->listener, 0);
    s->listener.data = s;
    uv_timer_init(sp->loop, &s->resume);
    s->resume.data = s;
    uv_timer_init(sp->loop, &s->probe);
    s->probe.data = s;
    s->handles = 3;
    if ((rc = uv_pipe_bind(&s->listener, path)) == 0) {
        if (chmod(path, sp->cfg.socket_mode) != 0) {
            rc = -errno;
        } else {
            rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
        }
    }
    if (rc) {
        SP_LOG(SP_LOG_ERROR, "cannot listen on the socket", "path=\"%s\" error=\"%s\"", path,
               uv_strerror(rc));
        uv_close((uv_handle_t *)&s->listener, handle_closed_cb);
        uv_close((uv_handle_t *)&s->resume, handle_closed_cb);
        uv_close((uv_handle_t *)&s->probe, handle_closed_cb);
        s->started = 0;
        return rc;
    }
    s->started = 1;
    s->listening = 1;
    return 0;
}

static void stop_accepting(struct col_socket *s)
{
    if (!s->listening) {
        return;
    }
    s->listening = 0;
    uv_close((uv_handle_t *)&s->listener, handle_closed_cb);
    unlink(s->path);
}

static void socket_stop_accepting(struct sp_input *in)
{
    stop_accepting(in->priv);
}

/* While paused: a peer that hung up with nothing left unread (and no complete
 * record buffered) is handled as
 * the read would have (its partial record counted, its memory freed); one
 * with data waiting is read when input resumes, like any other. Then
 * backpressure is checked again: nothing else may run while the agent is
 * paused and idle, and a pause must end once what is held drops. */
static void probe_cb(uv_timer_t *t)
{
    struct col_socket *s = t->data;
    struct conn *next;
    for (struct conn *c = s->conns; c && s->paused; c = next) {
        next = c->next;
        uv_os_fd_t fd;
        if (c->closing || c->half_closed || uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0 ||
            (c->len && memchr(c->buf, '\n', c->len))) {
            continue; /* complete records wait for the resume, whoever sent them */
        }
        char byte;
        ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) {
            conn_hangup(c, UV_EOF);
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            conn_hangup(c, -errno);
        }
    }
    sp_door_done(s->sp); /* flow control looks again at what is held */
    if (!s->paused) {
        uv_timer_stop(&s->probe);
    }
}

static void socket_pause(struct sp_input *in)
{
    struct col_socket *s = in->priv;
    if (s->paused) {
        return;
    }
    s->paused = 1;
    for (struct conn *c = s->conns; c; c = c->next) {
        conn_update_reading(c);
    }
    uv_timer_start(&s->probe, probe_cb, PROBE_MS, PROBE_MS);
}

static void resume_cb(uv_timer_t *t)
{
    struct col_socket *s = t->data;
    for (struct conn *c = s->conns; c && !s->paused; c = c->next) {
        process(c); /* what was buffered when input paused; may pause again */
    }
    for (struct conn *c = s->conns; c; c = c->next) {
        conn_update_reading(c);
    }
}

static void socket_resume(struct sp_input *in)
{
    struct col_socket *s = in->priv;
    if (!s->paused) {
        return;
    }
    s->paused = 0;
    uv_timer_stop(&s->probe);
    /* Resuming is often decided deep inside a record's processing (an export
     * completing synchronously): handle the buffered records on a fresh stack,
     * on the next turn of the loop, never re-entrantly. */
    uv_timer_start(&s->resume, resume_cb, 0, 0);
}

static void socket_durable(struct sp_input *in, uint64_t pos)
{
    struct col_socket *s = in->priv;
    for (struct conn *c = s->conns; c; c = c->next) {
        while (c->acks && c->acks->pos <= pos) {
            struct ack_wait *a = c->acks;
            c->acks = a->next;
            if (c->acks == NULL) {
                c->acks_tail = &c->acks;
            }
            c->pending_write -= a->len;
            conn_reply(c, a->data, a->len);
            free(a);
        }
        conn_finish_if_done(c); /* a write that failed to start owes nothing more */
        if (c->paused && !c->closing && c->pending_write < SP_MAX_PENDING_WRITE_BYTES / 2) {
            c->paused = 0;
            conn_update_reading(c);
        }
    }
}

static void socket_close(struct sp_input *in)
{
    struct col_socket *s = in->priv;
    in->priv = NULL;
    if (!s->started) { /* never listened (or start failed, its handles closed) */
        s->freeing = 1;
        if (s->handles == 0) {
            s->sp->mem.conns -= malloc_usable_size(s->scratch);
            free(s->scratch);
            free(s->path);
            free(s);
        }
        return;
    }
    stop_accepting(s);
    /* Complete records still buffered by a pause are handled, not lost. */
    s->paused = 0;
    for (struct conn *c = s->conns; c; c = c->next) {
        process(c);
    }
    while (s->conns) {
        struct conn *c = s->conns;
        count_partial(c);
        conn_close(c);
    }
    s->freeing = 1;
    uv_close((uv_handle_t *)&s->resume, handle_closed_cb);
    uv_close((uv_handle_t *)&s->probe, handle_closed_cb);
}

const struct sp_input_ops col_socket_input = {
    .name = "socket",
    .init = socket_init,
    .start = socket_start,
    .pause = socket_pause,
    .resume = socket_resume,
    .durable = socket_durable,
    .stop_accepting = socket_stop_accepting,
    .close = socket_close,
};
