/*
 * arena.h - bump allocator for short-lived work (one batch, one record).
 * Everything allocated from an arena is freed by one sp_arena_free() or
 * recycled by sp_arena_reset(). Allocation failure returns NULL.
 */
#ifndef SP_ARENA_H
#define SP_ARENA_H

#include <stddef.h>

struct sp_arena_chunk;

struct sp_arena {
    struct sp_arena_chunk *head; /* chunk being filled; older chunks follow */
    size_t chunk_size;           /* size of a normal chunk */
    size_t used;                 /* bytes handed out, for accounting */
    size_t reserved;             /* bytes malloc'ed, for the memory budget */
    size_t *acct;                /* NULL, or a total that follows `reserved` */
};

/* From now on *acct follows this arena's reserved bytes (the memory budget). */
void sp_arena_account(struct sp_arena *a, size_t *acct);

void sp_arena_init(struct sp_arena *a, size_t chunk_size);
void *sp_arena_alloc(struct sp_arena *a, size_t n);        /* 16-byte aligned */
void *sp_arena_calloc(struct sp_arena *a, size_t n);
char *sp_arena_strndup(struct sp_arena *a, const char *p, size_t n); /* adds a NUL */
void sp_arena_reset(struct sp_arena *a);  /* keeps the first chunk */
void sp_arena_free(struct sp_arena *a);

#endif
