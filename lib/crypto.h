/*
 * crypto.h - SHA-256, HMAC-SHA256 and base64 from libcrypto, loaded on
 * first use rather than linked.
 *
 * Why loaded: mapping and relocating libcrypto and running its constructor
 * took 4.5 of the 7 ms from exec to main's end for `spindle --version` on
 * the development VM; in Lambda the register request must leave before
 * anything slow (docs/lambda.md, "Start-up cost"). The agent loads it once
 * its inputs have started (agent.c); any call loads it if nobody did.
 */
#ifndef SPINDLE_CRYPTO_H
#define SPINDLE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define SP_SHA256_LEN 32

struct sp_iov {
    const void *p;
    size_t n;
};

/* Loads libcrypto, once per process; thread-safe. 0, or -ELIBACC with the
 * reason in `err` (each later call fails the same way). */
int sp_crypto_load(char *err, size_t errlen);

/* SHA-256 of the concatenation of parts. 0, or a negative errno. */
int sp_sha256(const struct sp_iov *parts, int n, uint8_t md[SP_SHA256_LEN]);

/* HMAC-SHA256 of the concatenation of parts under `key`. 0, or a negative errno. */
int sp_hmac_sha256(const void *key, size_t key_len, const struct sp_iov *parts, int n,
                   uint8_t mac[SP_SHA256_LEN]);

/* Standard base64 (with padding) of in[0..n) into out, NUL-terminated.
 * -ENOBUFS when cap is under 4 * ceil(n / 3) + 1. */
int sp_base64(const void *in, size_t n, char *out, size_t cap);

#endif
