/*
 * hmap.h - intrusive chained hash map. The caller embeds a struct sp_hnode in
 * its object, computes the hash, and compares keys itself while walking a
 * bucket; the map never allocates per entry and never owns the objects.
 */
#ifndef SP_HMAP_H
#define SP_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct sp_hnode {
    struct sp_hnode *next;
    uint64_t hash;
};

struct sp_hmap {
    struct sp_hnode **b; /* nb buckets, nb a power of two */
    size_t nb;
    size_t n;
};

#define SP_FNV_OFFSET 0xcbf29ce484222325ull
#define SP_FNV_PRIME 0x100000001b3ull

/* FNV-1a over n bytes, continuing from h (SP_FNV_OFFSET to start): the one
 * byte hash of the project, inline because encoders run it per item. */
static inline uint64_t sp_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ c[i]) * SP_FNV_PRIME;
    }
    return h;
}

/* FNV-1a with a final avalanche, for the map's power-of-two bucket masks. */
uint64_t sp_hash(const void *p, size_t n, uint64_t seed);
int sp_hmap_init(struct sp_hmap *m, size_t nb);
void sp_hmap_free(struct sp_hmap *m);
/* First node of the bucket of `hash`; walk ->next and compare ->hash first. */
struct sp_hnode *sp_hmap_bucket(const struct sp_hmap *m, uint64_t hash);
/* Grows (doubling) when the load passes 1; growth failure keeps the map working. */
void sp_hmap_insert(struct sp_hmap *m, struct sp_hnode *node);
void sp_hmap_remove(struct sp_hmap *m, struct sp_hnode *node);

#endif
