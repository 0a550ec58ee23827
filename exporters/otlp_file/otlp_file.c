/*
 * otlp_file.c - the file exporter of the embedded default: one OTLP/JSON
 * Export*ServiceRequest per line in <directory>/{traces,logs,metrics}.jsonl,
 * rotated at max_file_bytes to <signal>.1.jsonl ... <signal>.<max_files>.jsonl
 * (the oldest is deleted), so the disk used is capped at
 * 3 x max_file_bytes x (max_files + 1).
 *
 * Writes are plain write(2) calls on the loop thread: one per batch (not per
 * record), to the page cache, never fsync'ed. Ownership: the exporter owns
 * its file descriptors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "otlp_file.h"

#include "agent.h"
#include "log.h"
#include "otlp_json.h"


struct otlp_file {
    int fd[SP_SIG_COUNT];
    uint64_t size[SP_SIG_COUNT];
};

static void path_of(const struct spindle *sp, int signal, unsigned n, char *out, size_t cap)
{
    if (n == 0) {
        snprintf(out, cap, "%s/%s.jsonl", sp->cfg.file_dir, sp_signal_names[signal]);
    } else {
        snprintf(out, cap, "%s/%s.%u.jsonl", sp->cfg.file_dir, sp_signal_names[signal], n);
    }
}

static int open_signal(struct sp_exporter *e, int signal)
{
    struct otlp_file *f = e->priv;
    char p[4096];
    path_of(e->sp, signal, 0, p, sizeof(p));
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        return -errno;
    }
    struct stat st;
    f->size[signal] = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    f->fd[signal] = fd;
    return 0;
}

static int init(struct sp_exporter *e)
{
    struct spindle *sp = e->sp;
    struct otlp_file *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return -ENOMEM;
    }
    e->priv = f;
    for (int s = 0; s < SP_SIG_COUNT; s++) {
        f->fd[s] = -1;
    }
    int rc = sp_mkdirs(sp->cfg.file_dir, 0755);
    for (int s = 0; rc == 0 && s < SP_SIG_COUNT; s++) {
        rc = open_signal(e, s);
    }
    if (rc) {
        SP_LOG(SP_LOG_ERROR, "cannot open the file exporter's files", "directory=\"%s\" error=\"%s\"",
               sp->cfg.file_dir, strerror(-rc));
    }
    return rc;
}

static int encode(struct sp_exporter *e, const struct sp_batch *b, struct sp_buf *out)
{
    int rc = otlp_encode_json(b, sp_batch_resource(e->sp, b), out);
    return rc ? rc : sp_buf_addc(out, '\n');
}

static int rotate(struct sp_exporter *e, int signal)
{
    struct otlp_file *f = e->priv;
    struct spindle *sp = e->sp;
    char from[4096], to[4096];
    close(f->fd[signal]);
    f->fd[signal] = -1;
    unsigned keep = (unsigned)sp->cfg.file_max_files;
    if (keep == 0) {
        path_of(sp, signal, 0, from, sizeof(from));
        unlink(from);
    } else {
        path_of(sp, signal, keep, to, sizeof(to));
        unlink(to);
        for (unsigned i = keep; i > 1; i--) {
            path_of(sp, signal, i - 1, from, sizeof(from));
            path_of(sp, signal, i, to, sizeof(to));
            rename(from, to);
        }
        path_of(sp, signal, 0, from, sizeof(from));
        path_of(sp, signal, 1, to, sizeof(to));
        rename(from, to);
    }
    return open_signal(e, signal);
}

static void send_req(struct sp_exporter *e, struct sp_req *r)
{
    struct otlp_file *f = e->priv;
    struct spindle *sp = e->sp;
    int signal = r->q->signal;
    struct sp_send_result res = {.outcome = SP_SEND_OK, .retry_after_s = -1};
    if (f->fd[signal] >= 0 && f->size[signal] > 0 &&
        f->size[signal] + r->body.len > sp->cfg.file_max_bytes) {
        int rc = rotate(e, signal);
        if (rc) {
            SP_LOG_RL(SP_LOG_ERROR, "cannot rotate the export file", "signal=%s error=\"%s\"",
                      sp_signal_names[signal], strerror(-rc));
        }
    }
    size_t off = 0;
    while (f->fd[signal] >= 0 && off < r->body.len) {
        ssize_t w = write(f->fd[signal], r->body.p + off, r->body.len - off);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        off += (size_t)w;
    }
    if (off < r->body.len) {
        res.outcome = SP_SEND_RETRY;
        res.detail = strerror(errno);
        res.detail_len = strlen(res.detail);
        if (off) {
            /* A torn line would break readers: cut it off again. */
            if (ftruncate(f->fd[signal], (off_t)f->size[signal]) != 0) {
                res.outcome = SP_SEND_ERROR;
            }
        }
    } else {
        f->size[signal] += r->body.len;
    }
    sp_exporter_done(e, r, &res);
}

/* Files take any size: never asked to split. */
static int split(struct sp_exporter *e, const struct sp_req *r, struct sp_buf *a,
                 struct sp_buf *b, uint32_t *items_a, uint32_t *items_b)
{
    return -ENOTSUP;
}

static void close_exp(struct sp_exporter *e)
{
    struct otlp_file *f = e->priv;
    if (f == NULL) {
        return;
    }
    for (int s = 0; s < SP_SIG_COUNT; s++) {
        if (f->fd[s] >= 0) {
            close(f->fd[s]);
        }
    }
    free(f);
    e->priv = NULL;
}

const struct sp_exporter_ops exp_otlp_file_ops = {
    .name = "otlp_file",
    .init = init,
    .encode = encode,
    .compress = sp_exporter_no_compress,
    .send = send_req,
    .split = split,
    .close = close_exp,
};
