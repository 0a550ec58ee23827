/*
 * journal.c - the write-ahead journal. See journal.h and
 * docs/internals/journal.md.
 *
 * On disk: storage.path/<seq as 16 hex digits>.seg, in the format of
 * jformat.h.
 *
 * Writing follows Redis's append-only file: everything appended during one
 * loop turn goes out with one write() from the loop thread at the end of the
 * turn (a uv_check handle), which reaches the page cache and so survives a
 * kill -9; fdatasync(), which waits for the disk, runs on the thread pool,
 * one job at a time, on dup()ed descriptors. An ack waits until the position
 * it covers is written (never) or synced (batch, always).
 *
 * Ownership: the journal owns its files, descriptors and buffers; the sync
 * job owns the descriptors it was given and closes them.
 */
#include "journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "caps.h"
#include "jformat.h"
#include "log.h"

#define SEG_HDR SP_JSEG_HDR

struct seg {
    uint64_t seq;
    uint64_t bytes;   /* file size, counting what is appended but not written */
    uint64_t held;    /* export requests whose oldest source is this segment */
    int fd;           /* the active segment's; -1 for every other */
    uint64_t aside_pos; /* damaged: set aside once the journal is durable up to here */
    uint8_t replay;   /* left by the previous run and not replayed yet */
    uint8_t dirty;    /* written since its last sync job */
};

/* One fdatasync() pass on the thread pool over every dirty segment (and the
 * folder when a segment was created or removed). The active segment goes by
 * a dup() of its descriptor; a closed one is opened by name in the worker
 * (fsync works on the file, whichever descriptor wrote it), so closed
 * segments never hold descriptors however many fill between two syncs. */
struct sync_job {
    uv_work_t req;
    struct sp_journal *j;
    int rc;
    uint64_t pos;     /* durable once the job succeeds */
    int dir_fd;       /* dup()ed: names are opened under it; closed by the job */
    int with_dir;     /* the folder itself is synced too */
    size_t n;
    uint64_t *seqs;   /* segment of each entry */
    int fds[];        /* dup()ed descriptor, or -1: open by name */
};

struct sp_journal {
    struct sp_journal_hooks hooks; /* the parts above, given at open */
    struct spindle *sp;
    char *dir;
    int dir_fd;
    int lock_fd;
    struct seg *segs; /* by seq; the last one is active */
    size_t n, cap;
    uint64_t total;   /* bytes of every segment */
    uint64_t aside_bytes; /* bytes of the *.seg.corrupt files kept; with total, within max_bytes */
    size_t n_aside;   /* *.seg.corrupt files kept (at most SP_JOURNAL_MAX_SET_ASIDE) */
    struct sp_buf pending;      /* framed entries not written yet */
    uint64_t appended, written, durable, want; /* logical positions */
    int dir_dirty;    /* a segment was created or removed since the last sync */
    size_t retired_dirty; /* closed segments written since their last sync */
    uv_check_t check; /* end of the loop turn: write */
    uv_timer_t tick;  /* collect delivered segments; retry failed writes */
    uv_idle_t idle;   /* replay */
    int handles;      /* uv handles not yet closed */
    struct sync_job *job; /* in flight, or NULL */
    int closing;      /* sp_journal_close() ran: free when the job and handles end */
    int frozen;       /* shutdown: no segment is deleted any more */
    /* replay */
    int replay_done;
    uint64_t rseq;    /* segment being replayed (0: none loaded) */
    struct sp_buf rbuf;
    size_t roff, rend;
    int rcorrupt;     /* its valid entries are appended anew, then it is set aside */
    uint64_t replay_started_ms, replay_segments;
};

/* --- segments ------------------------------------------------------------- */

static void seg_name(char *out, size_t n, uint64_t seq, const char *suffix)
{
    snprintf(out, n, "%016" PRIx64 ".seg%s", seq, suffix);
}

static struct seg *active(struct sp_journal *j)
{
    return &j->segs[j->n - 1];
}

static struct seg *seg_find(struct sp_journal *j, uint64_t seq)
{
    size_t lo = 0, hi = j->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (j->segs[mid].seq < seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < j->n && j->segs[lo].seq == seq ? &j->segs[lo] : NULL;
}

/* What the folder holds against storage.max_bytes: segments and the
 * set-aside files kept for inspection. */
static uint64_t used(const struct sp_journal *j)
{
    return j->total + j->aside_bytes;
}

static void update_stats(struct sp_journal *j)
{
    j->sp->stats.journal_bytes = used(j);
    j->sp->stats.journal_segments = j->n;
}

/* A listing of the folder on a descriptor of its own: a dup() of dir_fd
 * would share (and find at the end) the offset an earlier listing left. */
static DIR *list_dir(struct sp_journal *j)
{
    int fd = openat(j->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return NULL;
    }
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        int err = errno;
        close(fd);
        errno = err;
    }
    return d;
}

static void trim_set_aside(struct sp_journal *j, size_t keep);

/* Removes segs[i] from the table; the file is the caller's business. */
static void seg_forget(struct sp_journal *j, size_t i)
{
    if (j->segs[i].fd >= 0) {
        close(j->segs[i].fd);
    } else if (j->segs[i].dirty) {
        j->retired_dirty--;
    }
    j->total -= j->segs[i].bytes;
    memmove(&j->segs[i], &j->segs[i + 1], (j->n - i - 1) * sizeof(struct seg));
    j->n--;
    j->dir_dirty = 1;
    update_stats(j);
}

static void seg_unlink(struct sp_journal *j, size_t i)
{
    char name[64];
    seg_name(name, sizeof(name), j->segs[i].seq, "");
    if (unlinkat(j->dir_fd, name, 0) != 0 && errno != ENOENT) {
        SP_LOG_RL(SP_LOG_ERROR, "cannot delete a journal segment", "path=\"%s/%s\" error=\"%s\"",
                  j->dir, name, strerror(errno));
    }
    seg_forget(j, i);
}

/* --- writing ----------------------------------------------------------------- */

static void notify(struct sp_journal *j)
{
    j->hooks.durable(j->hooks.arg, j->durable);
}

static void maybe_sync(struct sp_journal *j);

/* One write() of everything appended this turn. A failed write keeps the
 * bytes for the next attempt: acks wait, and input pauses past the backlog
 * cap, rather than acknowledging what is not on disk. */
static void flush_pending(struct sp_journal *j)
{
    size_t off = 0;
    struct seg *a = active(j);
    while (off < j->pending.len) {
        ssize_t w = write(a->fd, j->pending.p + off, j->pending.len - off);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            SP_LOG_RL(SP_LOG_ERROR, "cannot write the journal; acks wait until it can",
                      "path=\"%s\" error=\"%s\" backlog=%zu", j->dir, strerror(errno),
                      j->pending.len - off);
            break;
        }
        off += (size_t)w;
    }
    if (off) {
        memmove(j->pending.p, j->pending.p + off, j->pending.len - off);
        j->pending.len -= off;
        j->written += off;
        a->dirty = 1;
    }
    if (j->pending.len == 0 && j->pending.alloc > SP_READ_CHUNK * 4) {
        sp_buf_free(&j->pending); /* a burst's buffer is not kept for good */
    }
    j->sp->mem.journal = j->pending.alloc;
}

static void sync_work(uv_work_t *req)
{
    struct sync_job *job = req->data;
    job->rc = 0;
    for (size_t i = 0; i < job->n; i++) {
        int fd = job->fds[i];
        if (fd < 0) {
            char name[64];
            seg_name(name, sizeof(name), job->seqs[i], "");
            fd = openat(job->dir_fd, name, O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                if (errno != ENOENT && job->rc == 0) {
                    job->rc = -errno; /* ENOENT: collected meanwhile, nothing to keep */
                }
                continue;
            }
        }
        if (fdatasync(fd) != 0 && job->rc == 0) {
            job->rc = -errno;
        }
        close(fd);
    }
    if (job->with_dir && fsync(job->dir_fd) != 0 && job->rc == 0) {
        job->rc = -errno;
    }
    close(job->dir_fd);
}

static void journal_free(struct sp_journal *j);
static void set_aside_ready(struct sp_journal *j);

static void sync_done(uv_work_t *req, int status)
{
    struct sync_job *job = req->data;
    struct sp_journal *j = job->j;
    j->job = NULL;
    int ok = status == 0 && job->rc == 0;
    if (ok) {
        if (job->pos > j->durable) {
            j->durable = job->pos;
        }
        notify(j);
        set_aside_ready(j);
    } else {
        /* Everything the job covered is dirty again and durable does not
         * move: acks keep waiting. (After an fsync error the kernel may have
         * dropped the pages; the retry is the best left, and it is logged.) */
        SP_LOG_RL(SP_LOG_ERROR, "journal sync failed; acks wait", "path=\"%s\" error=\"%s\"",
                  j->dir, strerror(job->rc ? -job->rc : EIO));
        for (size_t i = 0; i < job->n; i++) {
            struct seg *sg = seg_find(j, job->seqs[i]);
            if (sg && !sg->dirty) {
                sg->dirty = 1;
                j->retired_dirty += sg != active(j);
            }
        }
        if (job->with_dir) {
            j->dir_dirty = 1;
        }
    }
    free(job->seqs);
    free(job);
    if (j->closing) {
        journal_free(j);
        return;
    }
    if (ok) {
        maybe_sync(j); /* after a failure the tick tries again, not a tight loop */
    }
}

/* Starts a sync job when acks wait (batch), after every write (always), or
 * when closed segments were written since their last sync (so that a crash
 * loses as little as the policy allows, and the job stays small). */
static void maybe_sync(struct sp_journal *j)
{
    struct spindle *sp = j->sp;
    if (j->job || j->closing || j->written <= j->durable) {
        return;
    }
    if (sp->cfg.storage_fsync == SP_FSYNC_NEVER) {
        j->durable = j->written; /* in the page cache: safe from kill -9, not power loss */
        notify(j);
        set_aside_ready(j);
        return;
    }
    if (sp->cfg.storage_fsync == SP_FSYNC_BATCH && j->want <= j->durable && !j->retired_dirty) {
        return;
    }
    size_t cap = j->n;
    struct sync_job *job = calloc(1, sizeof(*job) + cap * sizeof(int));
    uint64_t *seqs = malloc((cap ? cap : 1) * sizeof(uint64_t));
    int dir_fd = dup(j->dir_fd);
    if (job == NULL || seqs == NULL || dir_fd < 0) {
        free(job);
        free(seqs);
        if (dir_fd >= 0) {
            close(dir_fd);
        }
        return; /* the tick tries again */
    }
    job->j = j;
    job->pos = j->written;
    job->req.data = job;
    job->seqs = seqs;
    job->dir_fd = dir_fd;
    job->with_dir = j->dir_dirty;
    int failed = 0;
    for (size_t i = 0; i < j->n; i++) {
        struct seg *sg = &j->segs[i];
        if (!sg->dirty) {
            continue;
        }
        int fd = -1;
        if (sg->fd >= 0 && (fd = dup(sg->fd)) < 0) {
            failed = 1;
            break;
        }
        job->seqs[job->n] = sg->seq;
        job->fds[job->n++] = fd;
    }
    if (failed || uv_queue_work(sp->loop, &job->req, sync_work, sync_done) != 0) {
        for (size_t i = 0; i < job->n; i++) {
            if (job->fds[i] >= 0) {
                close(job->fds[i]);
            }
        }
        close(job->dir_fd);
        free(job->seqs);
        free(job);
        return; /* nothing was marked clean: the tick tries again */
    }
    /* Clean from here; a write meanwhile marks the active one dirty again. */
    for (size_t i = 0; i < job->n; i++) {
        struct seg *sg = seg_find(j, job->seqs[i]);
        sg->dirty = 0;
        if (sg != active(j)) {
            j->retired_dirty--;
        }
    }
    j->dir_dirty = 0;
    j->job = job;
}

static void check_cb(uv_check_t *h)
{
    struct sp_journal *j = h->data;
    flush_pending(j);
    maybe_sync(j);
    if (j->pending.len == 0) {
        uv_check_stop(&j->check);
    }
}

/* Adds segment `seq` as the active one, its header appended. Nothing changes
 * on failure. */
static int seg_create(struct sp_journal *j, uint64_t seq)
{
    char name[64];
    seg_name(name, sizeof(name), seq, "");
    if (sp_buf_reserve(&j->pending, SEG_HDR)) {
        return -ENOMEM;
    }
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 16;
        struct seg *n = realloc(j->segs, cap * sizeof(*n));
        if (n == NULL) {
            return -ENOMEM;
        }
        j->segs = n;
        j->cap = cap;
    }
    int fd = openat(j->dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        return -errno;
    }
    j->segs[j->n++] = (struct seg){.seq = seq, .bytes = SEG_HDR, .fd = fd};
    j->total += SEG_HDR;
    j->dir_dirty = 1;
    sp_buf_add(&j->pending, SP_JSEG_MAGIC, SEG_HDR); /* reserved above */
    j->appended += SEG_HDR;
    update_stats(j);
    return 0;
}

/* The active segment is full: what is appended goes to it, then a new one
 * starts. A retired segment keeps its descriptor until a sync job took it. */
static void roll(struct sp_journal *j)
{
    flush_pending(j);
    if (j->pending.len) {
        return; /* the old segment cannot take its bytes yet: keep appending there */
    }
    uint64_t seq = active(j)->seq + 1;
    int rc = seg_create(j, seq);
    if (rc) {
        SP_LOG_RL(SP_LOG_ERROR, "cannot start a journal segment; the current one grows",
                  "path=\"%s\" seq=%" PRIu64 " error=\"%s\"", j->dir, seq, strerror(-rc));
        return;
    }
    struct seg *old = &j->segs[j->n - 2];
    close(old->fd); /* a sync job opens it by name when it needs syncing */
    old->fd = -1;
    if (old->dirty && j->sp->cfg.storage_fsync != SP_FSYNC_NEVER) {
        j->retired_dirty++;
    } else {
        old->dirty = 0;
    }
}

/* storage.max_bytes: set-aside segments (already counted lost, kept only
 * for inspection) go first, oldest first; then the oldest segments. What is
 * still queued for export from them goes with them, counted journal_full;
 * what open workflows or in-flight requests hold is still delivered, but is
 * no longer crash-safe. Segments not yet replayed are never evicted. */
static void evict(struct sp_journal *j)
{
    struct spindle *sp = j->sp;
    while (j->n_aside && used(j) > sp->cfg.storage_max_bytes) {
        size_t before = j->n_aside;
        trim_set_aside(j, j->n_aside - 1);
        if (j->n_aside >= before) {
            break; /* cannot delete it: live segments are next */
        }
    }
    while (used(j) > sp->cfg.storage_max_bytes && j->n > 1 && !j->segs[0].replay &&
           !j->segs[0].aside_pos && j->segs[0].seq != j->rseq) {
        uint64_t seq = j->segs[0].seq, bytes = j->segs[0].bytes;
        seg_unlink(j, 0);
        uint64_t items = j->hooks.drop_upto(j->hooks.arg, seq);
        SP_LOG_RL(SP_LOG_WARN, "journal full: oldest segment deleted",
                  "seq=%" PRIu64 " bytes=%" PRIu64 " queued_items_dropped=%" PRIu64
                  " max_bytes=%" PRIu64,
                  seq, bytes, items, sp->cfg.storage_max_bytes);
    }
}

int sp_journal_append(struct sp_journal *j, unsigned codec, const char *p, size_t n,
                      uint64_t recv_ns)
{
    size_t frame = SP_JENTRY_HDR + n;
    struct seg *a = active(j);
    if (a->bytes + frame > j->sp->cfg.storage_segment_bytes && a->bytes > SEG_HDR) {
        roll(j);
        a = active(j);
    }
    int rc = sp_jformat_frame(&j->pending, codec, p, n, recv_ns);
    if (rc) {
        SP_LOG_RL(SP_LOG_ERROR,
                  rc == -E2BIG ? "entry too large for the journal; record not journaled"
                               : "journal append buffer full; record not journaled",
                  "bytes=%zu backlog=%zu", n, j->pending.len);
        return rc;
    }
    j->appended += frame;
    a->bytes += frame;
    j->total += frame;
    j->sp->stats.journaled++;
    j->sp->mem.journal = j->pending.alloc;
    if (!uv_is_active((uv_handle_t *)&j->check)) {
        uv_check_start(&j->check, check_cb);
    }
    if (used(j) > j->sp->cfg.storage_max_bytes) {
        evict(j);
    }
    update_stats(j);
    /* The disk is behind: the caller pauses input before the next record. */
    return j->pending.len >= SP_JOURNAL_MAX_BACKLOG;
}

uint64_t sp_journal_seq(const struct sp_journal *j)
{
    return j->segs[j->n - 1].seq;
}

uint64_t sp_journal_pos(const struct sp_journal *j)
{
    return j->appended;
}

uint64_t sp_journal_durable(const struct sp_journal *j)
{
    return j->durable;
}

void sp_journal_want(struct sp_journal *j, uint64_t pos)
{
    if (pos > j->want) {
        j->want = pos;
    }
    if (!uv_is_active((uv_handle_t *)&j->check)) {
        uv_check_start(&j->check, check_cb); /* the sync starts at the end of this turn */
    }
}

size_t sp_journal_backlog(const struct sp_journal *j)
{
    return j->pending.len;
}

/* --- what may go ------------------------------------------------------------ */

void sp_journal_hold(struct sp_journal *j, uint64_t seq)
{
    struct seg *s = seg_find(j, seq);
    if (s) {
        s->held++;
    }
}

void sp_journal_release(struct sp_journal *j, uint64_t seq)
{
    struct seg *s = seg_find(j, seq);
    if (s && s->held) {
        s->held--;
    }
}

uint64_t sp_journal_clamp(const struct sp_journal *j, uint64_t seq)
{
    return seq < j->segs[0].seq ? j->segs[0].seq : seq;
}

int sp_journal_evicted(const struct sp_journal *j, uint64_t seq)
{
    /* A held segment is never collected, so only eviction removes it. */
    return seq < j->segs[0].seq;
}

/* The oldest segment anything in memory still derives from. */
static uint64_t watermark(struct sp_journal *j)
{
    uint64_t w = sp_journal_seq(j);
    if (!j->replay_done) {
        for (size_t i = 0; i < j->n; i++) {
            if (j->segs[i].replay || j->segs[i].seq == j->rseq) {
                sp_jseq_min(&w, j->segs[i].seq);
                break;
            }
        }
    }
    sp_jseq_min(&w, j->hooks.oldest_held(j->hooks.arg));
    for (size_t i = 0; i < j->n; i++) {
        if (j->segs[i].held) {
            sp_jseq_min(&w, j->segs[i].seq);
            break;
        }
    }
    return w;
}

void sp_journal_collect(struct sp_journal *j)
{
    if (j->frozen) {
        return;
    }
    uint64_t w = watermark(j);
    while (j->n > 1 && j->segs[0].seq < w && !j->segs[0].aside_pos) {
        seg_unlink(j, 0);
    }
}

static void tick_cb(uv_timer_t *t)
{
    struct sp_journal *j = t->data;
    if (j->pending.len) {
        flush_pending(j); /* a write that failed earlier; flow control sees the backlog shrink */
    }
    maybe_sync(j);
    sp_journal_collect(j);
}

/* --- replay ---------------------------------------------------------------- */

/* Reads one segment of the previous run and checks every entry: a damaged
 * last entry is a torn tail (truncated: the write never completed, so it was
 * never acknowledged); damage followed by intact entries is corruption
 * (counted per damaged stretch; the segment is set aside after its intact
 * entries are replayed and journaled anew). */
static int replay_load(struct sp_journal *j, struct seg *s)
{
    struct spindle *sp = j->sp;
    char name[64];
    seg_name(name, sizeof(name), s->seq, "");
    int fd = openat(j->dir_fd, name, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    sp_buf_reset(&j->rbuf);
    size_t size = (size_t)st.st_size;
    int rc = sp_buf_reserve(&j->rbuf, size + 1);
    size_t got = 0;
    while (rc == 0 && got < size) {
        ssize_t r = pread(fd, j->rbuf.p + got, size - got, (off_t)got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            rc = r < 0 ? -errno : -EIO;
            break;
        }
        got += (size_t)r;
    }
    if (rc) {
        close(fd);
        return rc;
    }
    j->rbuf.len = size;
    j->rseq = s->seq;
    j->rcorrupt = 0;
    j->roff = SEG_HDR;
    j->rend = size;
    if (size < SEG_HDR) {
        /* Created, never written: nothing in it was acknowledged. */
        j->rend = SEG_HDR;
        j->roff = SEG_HDR;
        close(fd);
        return 0;
    }
    size_t end;
    uint64_t entries, damaged;
    int torn;
    if (sp_jformat_check(j->rbuf.p, size, &end, &entries, &damaged, &torn) != 0) {
        SP_LOG(SP_LOG_ERROR, "journal segment has no valid header; setting it aside",
               "path=\"%s/%s\"", j->dir, name);
        sp->stats.drop_journal_corrupt++;
        j->rcorrupt = 1;
        j->rend = SEG_HDR; /* nothing in it can be trusted */
        close(fd);
        return 0;
    }
    j->rend = end;
    if (torn) {
        /* The last write never completed, so nothing in it was acknowledged. */
        SP_LOG(SP_LOG_WARN, "journal segment ends in a torn entry; truncating it",
               "path=\"%s/%s\" offset=%zu bytes_cut=%zu", j->dir, name, end, size - end);
        if (ftruncate(fd, (off_t)end) != 0) {
            SP_LOG(SP_LOG_ERROR, "cannot truncate a torn journal segment",
                   "path=\"%s/%s\" error=\"%s\"", j->dir, name, strerror(errno));
        }
        sp->stats.journal_truncated++;
        j->total -= s->bytes - end;
        s->bytes = end;
        j->rend = end;
    }
    close(fd);
    if (damaged) {
        SP_LOG(SP_LOG_ERROR,
               "journal segment has damaged entries; replaying the intact ones and setting it "
               "aside",
               "path=\"%s/%s\" damaged_stretches=%" PRIu64, j->dir, name, damaged);
        sp->stats.drop_journal_corrupt += damaged;
        j->rcorrupt = 1;
    }
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Keeps the newest `keep` *.seg.corrupt files (the names sort by sequence
 * number) and recounts what the kept ones hold. Runs only when a segment is
 * set aside, at start-up, and when they must make room: a listing is cheap
 * next to the damage that caused it. */
static void trim_set_aside(struct sp_journal *j, size_t keep)
{
    DIR *d = list_dir(j);
    if (d == NULL) {
        SP_LOG_RL(SP_LOG_ERROR, "cannot list the journal folder", "path=\"%s\" error=\"%s\"",
                  j->dir, strerror(errno));
        return;
    }
    /* More than this many is only possible from older versions, which never
     * trimmed: the rest go at the next trim. */
    char *names[256];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 256) {
        size_t l = strlen(e->d_name);
        if (l == 28 && strcmp(e->d_name + 16, ".seg.corrupt") == 0) {
            names[n] = strdup(e->d_name);
            n += names[n] != NULL;
        }
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_name);
    j->aside_bytes = 0;
    j->n_aside = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (i + keep < n && unlinkat(j->dir_fd, names[i], 0) == 0) {
            j->dir_dirty = 1;
        } else if (fstatat(j->dir_fd, names[i], &st, 0) == 0) {
            j->aside_bytes += (uint64_t)st.st_size;
            j->n_aside++;
        }
        free(names[i]);
    }
    update_stats(j);
}

/* Damaged segments whose intact entries are now durable elsewhere (in the
 * active segment) are renamed *.seg.corrupt, kept for inspection. */
static void set_aside_ready(struct sp_journal *j)
{
    for (size_t i = 0; i < j->n;) {
        struct seg *sg = &j->segs[i];
        if (!sg->aside_pos || sg->aside_pos > j->durable) {
            i++;
            continue;
        }
        char from[64], to[80];
        seg_name(from, sizeof(from), sg->seq, "");
        seg_name(to, sizeof(to), sg->seq, ".corrupt");
        if (renameat(j->dir_fd, from, j->dir_fd, to) != 0) {
            SP_LOG(SP_LOG_ERROR, "cannot set a corrupt journal segment aside; deleting it",
                   "path=\"%s/%s\" error=\"%s\"", j->dir, from, strerror(errno));
            unlinkat(j->dir_fd, from, 0);
        }
        j->sp->stats.journal_quarantined++;
        seg_forget(j, i);
        trim_set_aside(j, SP_JOURNAL_MAX_SET_ASIDE); /* its bytes now count as set aside */
    }
}

/* Done with the loaded segment. A damaged one stays (and is never deleted or
 * evicted) until the copies of its intact entries are durable, then goes
 * aside (set_aside_ready). */
static void replay_unload(struct sp_journal *j)
{
    struct seg *s = seg_find(j, j->rseq);
    if (s) {
        s->replay = 0;
        if (j->rcorrupt) {
            s->aside_pos = j->appended;
            sp_journal_want(j, s->aside_pos);
        }
    }
    j->rseq = 0;
    sp_buf_free(&j->rbuf);
}

static void replay_finish(struct sp_journal *j)
{
    struct spindle *sp = j->sp;
    j->replay_done = 1;
    uv_idle_stop(&j->idle);
    if (j->replay_segments) {
        SP_LOG(SP_LOG_INFO, "journal replayed", "records=%" PRIu64 " segments=%" PRIu64
               " ms=%" PRIu64, sp->stats.replayed, j->replay_segments,
               uv_now(sp->loop) - j->replay_started_ms);
    }
}

static void idle_cb(uv_idle_t *h)
{
    struct sp_journal *j = h->data;
    struct spindle *sp = j->sp;
    for (uint32_t done = 0; done < SP_JOURNAL_REPLAY_BATCH;) {
        if (j->hooks.hold_replay(j->hooks.arg)) {
            uv_idle_stop(&j->idle); /* sp_journal_resume() goes on; a stop keeps the rest */
            return;
        }
        if (j->rseq == 0) {
            struct seg *s = NULL;
            for (size_t i = 0; i < j->n; i++) {
                if (j->segs[i].replay) {
                    s = &j->segs[i];
                    break;
                }
            }
            if (s == NULL) {
                replay_finish(j);
                return;
            }
            int rc = replay_load(j, s);
            j->replay_segments++;
            if (rc) {
                SP_LOG(SP_LOG_ERROR, "cannot read a journal segment; setting it aside",
                       "seq=%" PRIu64 " error=\"%s\"", s->seq, strerror(-rc));
                sp->stats.drop_journal_corrupt++;
                j->rseq = s->seq;
                j->rcorrupt = 1;
                j->roff = j->rend = 0;
            }
        }
        if (j->roff >= j->rend) {
            replay_unload(j);
            continue;
        }
        struct sp_jentry e;
        int skipped; /* damaged stretches were counted at load */
        if (sp_jformat_next(j->rbuf.p, j->rend, &j->roff, &e, &skipped)) {
            /* An entry of a damaged segment is appended again (and derives
             * from the active segment) before that segment is set aside. */
            j->hooks.replay(j->hooks.arg, &e, j->rcorrupt ? 0 : j->rseq, j->rcorrupt);
            done++;
        }
    }
}

void sp_journal_replay_start(struct sp_journal *j)
{
    j->replay_started_ms = uv_now(j->sp->loop);
    uv_idle_start(&j->idle, idle_cb);
}

void sp_journal_resume(struct sp_journal *j)
{
    if (!j->replay_done && !j->closing) {
        uv_idle_start(&j->idle, idle_cb);
    }
}

int sp_journal_replaying(const struct sp_journal *j)
{
    return !j->replay_done;
}

/* --- open and close ------------------------------------------------------------ */

static int cmp_seg(const void *a, const void *b)
{
    const struct seg *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Finds the previous run's segments (sorted; all marked for replay). */
static int scan(struct sp_journal *j, uint64_t *max_seq)
{
    DIR *d = list_dir(j);
    if (d == NULL) {
        return -errno;
    }
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        char *end;
        size_t nl = strlen(e->d_name);
        if (nl < 20 || strncmp(e->d_name + 16, ".seg", 4) != 0) {
            continue;
        }
        uint64_t seq = strtoull(e->d_name, &end, 16);
        if (end != e->d_name + 16 || seq == 0) {
            continue;
        }
        /* A number in use by any file (set aside, or not a regular file) is
         * never given to a new segment. */
        if (seq > *max_seq) {
            *max_seq = seq;
        }
        struct stat st;
        if (nl != 20 || fstatat(j->dir_fd, e->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        if (j->n == j->cap) {
            size_t cap = j->cap ? j->cap * 2 : 16;
            struct seg *n = realloc(j->segs, cap * sizeof(*n));
            if (n == NULL) {
                rc = -ENOMEM;
                break;
            }
            j->segs = n;
            j->cap = cap;
        }
        j->segs[j->n++] = (struct seg){.seq = seq, .bytes = (uint64_t)st.st_size, .fd = -1,
                                       .replay = 1};
        j->total += (uint64_t)st.st_size;
    }
    closedir(d);
    if (j->n) {
        qsort(j->segs, j->n, sizeof(*j->segs), cmp_seg);
    }
    return rc;
}

static void handle_closed(uv_handle_t *h)
{
    struct sp_journal *j = h->data;
    j->handles--;
    journal_free(j);
}

/* Frees the journal once the sync job and every handle are done. */
static void journal_free(struct sp_journal *j)
{
    if (j->job || j->handles) {
        return;
    }
    for (size_t i = 0; i < j->n; i++) {
        if (j->segs[i].fd >= 0) {
            close(j->segs[i].fd);
        }
    }
    if (j->dir_fd >= 0) {
        close(j->dir_fd);
    }
    if (j->lock_fd >= 0) {
        close(j->lock_fd);
    }
    sp_buf_free(&j->pending);
    sp_buf_free(&j->rbuf);
    free(j->segs);
    free(j->dir);
    free(j);
}

int sp_journal_open(struct spindle *sp, const struct sp_journal_hooks *hooks,
                    struct sp_journal **out)
{
    const char *dir = sp->cfg.storage_path;
    int rc = sp_mkdirs(dir, 0750);
    if (rc) {
        SP_LOG(SP_LOG_ERROR, "cannot create the journal folder", "path=\"%s\" error=\"%s\"", dir,
               strerror(-rc));
        return rc;
    }
    struct sp_journal *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        return -ENOMEM;
    }
    j->sp = sp;
    j->hooks = *hooks;
    j->dir = strdup(dir);
    j->lock_fd = -1;
    j->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    sp_buf_init(&j->pending, SP_JOURNAL_MAX_BACKLOG * 2 + SP_JENTRY_HDR + SP_JENTRY_MAX_PAYLOAD);
    sp_buf_init(&j->rbuf, SP_MAX_JOURNAL_SEGMENT_BYTES + SP_MAX_RECORD_BYTES + 1);
    if (j->dir == NULL || j->dir_fd < 0) {
        rc = j->dir ? -errno : -ENOMEM;
        SP_LOG(SP_LOG_ERROR, "cannot open the journal folder", "path=\"%s\" error=\"%s\"", dir,
               strerror(-rc));
        goto fail;
    }
    /* Two agents appending to one journal would each replay and delete the
     * other's data. */
    j->lock_fd = openat(j->dir_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (j->lock_fd < 0 || flock(j->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = -errno;
        SP_LOG(SP_LOG_ERROR,
               rc == -EWOULDBLOCK ? "another spindle is using this journal folder"
                                  : "cannot lock the journal folder",
               "path=\"%s\" error=\"%s\"", dir, strerror(-rc));
        goto fail;
    }
    uint64_t max_seq = 0;
    if ((rc = scan(j, &max_seq))) {
        SP_LOG(SP_LOG_ERROR, "cannot read the journal folder", "path=\"%s\" error=\"%s\"", dir,
               strerror(-rc));
        goto fail;
    }
    trim_set_aside(j, SP_JOURNAL_MAX_SET_ASIDE); /* what earlier runs left, and its bytes */
    uint64_t seq = max_seq + 1;
    if ((rc = seg_create(j, seq))) {
        SP_LOG(SP_LOG_ERROR, "cannot create a journal segment", "path=\"%s\" error=\"%s\"", dir,
               strerror(-rc));
        goto fail;
    }
    j->replay_done = j->n == 1;
    sp->stats.journal_max_bytes = sp->cfg.storage_max_bytes;
    uv_check_init(sp->loop, &j->check);
    j->check.data = j;
    uv_timer_init(sp->loop, &j->tick);
    j->tick.data = j;
    uv_idle_init(sp->loop, &j->idle);
    j->idle.data = j;
    j->handles = 3;
    uv_timer_start(&j->tick, tick_cb, SP_JOURNAL_TICK_MS, SP_JOURNAL_TICK_MS);
    uv_unref((uv_handle_t *)&j->tick);
    uv_check_start(&j->check, check_cb); /* writes the new segment's header */
    if (j->n > 1) {
        SP_LOG(SP_LOG_INFO, "journal found from a previous run; replaying",
               "path=\"%s\" segments=%zu bytes=%" PRIu64, dir, j->n - 1, j->total - SEG_HDR);
    }
    *out = j;
    return 0;
fail:
    journal_free(j);
    return rc;
}

void sp_journal_close(struct sp_journal *j, int all_delivered)
{
    struct spindle *sp = j->sp;
    j->frozen = 1;
    flush_pending(j);
    if (j->pending.len) {
        /* Never acknowledged (acks wait for the write), so the clients know;
         * said here so that the loss is not silent either. */
        SP_LOG(SP_LOG_ERROR, "journal could not be written before exit; unacknowledged records lost",
               "path=\"%s\" bytes=%zu", j->dir, j->pending.len);
    }
    /* At exit the loop has nothing left to keep responsive: sync in place. */
    int synced = 1;
    if (sp->cfg.storage_fsync != SP_FSYNC_NEVER) {
        for (size_t i = 0; i < j->n; i++) {
            struct seg *sg = &j->segs[i];
            if (!sg->dirty) {
                continue;
            }
            int fd = sg->fd;
            if (fd < 0) {
                char name[64];
                seg_name(name, sizeof(name), sg->seq, "");
                fd = openat(j->dir_fd, name, O_RDONLY | O_CLOEXEC);
            }
            if (fd < 0 || fdatasync(fd) != 0) {
                synced = 0;
            }
            if (fd >= 0 && fd != sg->fd) {
                close(fd);
            }
        }
    }
    if (synced && j->job == NULL) {
        j->durable = j->written;
        set_aside_ready(j); /* damaged segments whose copies are now on disk */
    }
    if (all_delivered && j->replay_done && j->pending.len == 0) {
        while (j->n) {
            seg_unlink(j, 0);
        }
        fsync(j->dir_fd);
    } else {
        fsync(j->dir_fd);
        SP_LOG(SP_LOG_INFO, "journal kept for the next start", "path=\"%s\" segments=%zu bytes=%"
               PRIu64, j->dir, j->n, j->total);
    }
    j->closing = 1;
    uv_close((uv_handle_t *)&j->check, handle_closed);
    uv_close((uv_handle_t *)&j->tick, handle_closed);
    uv_close((uv_handle_t *)&j->idle, handle_closed);
}
