/*
 * hmap.c - intrusive chained hash map. See hmap.h.
 */
#include "hmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint64_t sp_hash(const void *p, size_t n, uint64_t seed)
{
    /* FNV-1a with a final avalanche: short keys (ids, names) dominate, and the
     * mix keeps power-of-two bucket masks well spread. */
    uint64_t h = sp_fnv1a(SP_FNV_OFFSET ^ seed, p, n);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

int sp_hmap_init(struct sp_hmap *m, size_t nb)
{
    size_t n = 16;
    while (n < nb) {
        n *= 2;
    }
    m->b = calloc(n, sizeof(*m->b));
    if (m->b == NULL) {
        return -ENOMEM;
    }
    m->nb = n;
    m->n = 0;
    return 0;
}

void sp_hmap_free(struct sp_hmap *m)
{
    free(m->b);
    m->b = NULL;
    m->nb = 0;
    m->n = 0;
}

struct sp_hnode *sp_hmap_bucket(const struct sp_hmap *m, uint64_t hash)
{
    return m->b[hash & (m->nb - 1)];
}

static void grow(struct sp_hmap *m)
{
    size_t nb = m->nb * 2;
    struct sp_hnode **b = calloc(nb, sizeof(*b));
    if (b == NULL) {
        return;
    }
    for (size_t i = 0; i < m->nb; i++) {
        struct sp_hnode *n = m->b[i];
        while (n) {
            struct sp_hnode *next = n->next;
            size_t j = n->hash & (nb - 1);
            n->next = b[j];
            b[j] = n;
            n = next;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
}

void sp_hmap_insert(struct sp_hmap *m, struct sp_hnode *node)
{
    if (m->n >= m->nb) {
        grow(m);
    }
    size_t i = node->hash & (m->nb - 1);
    node->next = m->b[i];
    m->b[i] = node;
    m->n++;
}

void sp_hmap_remove(struct sp_hmap *m, struct sp_hnode *node)
{
    struct sp_hnode **pp = &m->b[node->hash & (m->nb - 1)];
    while (*pp && *pp != node) {
        pp = &(*pp)->next;
    }
    if (*pp) {
        *pp = node->next;
        m->n--;
    }
}
