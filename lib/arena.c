/*
 * arena.c - bump allocator. See arena.h.
 *
 * Chunks form a list, newest first. A request larger than a quarter of the
 * chunk size gets a chunk of its own, so big items do not waste a chunk.
 */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct sp_arena_chunk {
    struct sp_arena_chunk *next;
    size_t size; /* usable bytes in data[] */
    size_t off;  /* next free offset */
    _Alignas(16) unsigned char data[];
};

void sp_arena_init(struct sp_arena *a, size_t chunk_size)
{
    a->head = NULL;
    a->chunk_size = chunk_size ? chunk_size : 16384;
    a->used = 0;
    a->reserved = 0;
    a->acct = NULL;
}

void sp_arena_account(struct sp_arena *a, size_t *acct)
{
    a->acct = acct;
    if (acct) {
        *acct += a->reserved;
    }
}

static struct sp_arena_chunk *chunk_new(struct sp_arena *a, size_t size)
{
    struct sp_arena_chunk *c = malloc(sizeof(*c) + size);
    if (c == NULL) {
        return NULL;
    }
    c->size = size;
    c->off = 0;
    a->reserved += sizeof(*c) + size;
    if (a->acct) {
        *a->acct += sizeof(*c) + size;
    }
    return c;
}

void *sp_arena_alloc(struct sp_arena *a, size_t n)
{
    n = (n + 15u) & ~(size_t)15u;
    if (n == 0) {
        n = 16;
    }
    struct sp_arena_chunk *c = a->head;
    if (c && c->size - c->off >= n) {
        void *p = c->data + c->off;
        c->off += n;
        a->used += n;
        return p;
    }
    if (n > a->chunk_size / 4) {
        /* Own chunk, linked behind the head so the head keeps filling. */
        struct sp_arena_chunk *big = chunk_new(a, n);
        if (big == NULL) {
            return NULL;
        }
        big->off = n;
        if (c) {
            big->next = c->next;
            c->next = big;
        } else {
            big->next = NULL;
            a->head = big;
        }
        a->used += n;
        return big->data;
    }
    struct sp_arena_chunk *nc = chunk_new(a, a->chunk_size);
    if (nc == NULL) {
        return NULL;
    }
    nc->next = c;
    a->head = nc;
    nc->off = n;
    a->used += n;
    return nc->data;
}

void *sp_arena_calloc(struct sp_arena *a, size_t n)
{
    void *p = sp_arena_alloc(a, n);
    if (p) {
        memset(p, 0, n);
    }
    return p;
}

char *sp_arena_strndup(struct sp_arena *a, const char *p, size_t n)
{
    char *d = sp_arena_alloc(a, n + 1);
    if (d) {
        if (n) {
            memcpy(d, p, n);
        }
        d[n] = 0;
    }
    return d;
}

void sp_arena_reset(struct sp_arena *a)
{
    struct sp_arena_chunk *c = a->head;
    if (c == NULL) {
        return;
    }
    /* Keep one normal-sized chunk for reuse; free the rest. */
    struct sp_arena_chunk *keep = NULL;
    while (c) {
        struct sp_arena_chunk *next = c->next;
        if (keep == NULL && c->size == a->chunk_size) {
            keep = c;
        } else {
            a->reserved -= sizeof(*c) + c->size;
            if (a->acct) {
                *a->acct -= sizeof(*c) + c->size;
            }
            free(c);
        }
        c = next;
    }
    if (keep) {
        keep->next = NULL;
        keep->off = 0;
    }
    a->head = keep;
    a->used = 0;
}

void sp_arena_free(struct sp_arena *a)
{
    if (a->acct) {
        *a->acct -= a->reserved;
    }
    struct sp_arena_chunk *c = a->head;
    while (c) {
        struct sp_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->used = 0;
    a->reserved = 0;
}
