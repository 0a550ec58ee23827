/*
 * crypto.c - libcrypto, loaded on first use. See crypto.h.
 *
 * The function table, the fetched SHA-256 algorithm and the load's outcome
 * are process-wide and never change once set, hence static; pthread_once
 * makes the load safe from any thread (ids are derived off the loop thread
 * in tests). OpenSSL 3's one-shot SHA256() fetches the algorithm on every
 * call (EVP_MD_fetch: a property query under a lock), which callgrind put at
 * 12.6 % of all instructions for span records; so the algorithm is fetched
 * once and one digest context per thread is reused.
 */
#include "crypto.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdio.h>

#include "dynlib.h"

#define SP_LIBCRYPTO_SONAME "libcrypto.so.3"

static struct {
    void *lib;
    __typeof__(&EVP_MD_fetch) md_fetch;
    __typeof__(&EVP_MD_CTX_new) md_ctx_new;
    __typeof__(&EVP_DigestInit_ex2) digest_init;
    __typeof__(&EVP_DigestUpdate) digest_update;
    __typeof__(&EVP_DigestFinal_ex) digest_final;
    __typeof__(&EVP_MAC_fetch) mac_fetch;
    __typeof__(&EVP_MAC_free) mac_free;
    __typeof__(&EVP_MAC_CTX_new) mac_ctx_new;
    __typeof__(&EVP_MAC_CTX_free) mac_ctx_free;
    __typeof__(&EVP_MAC_init) mac_init;
    __typeof__(&EVP_MAC_update) mac_update;
    __typeof__(&EVP_MAC_final) mac_final;
    __typeof__(&OSSL_PARAM_construct_utf8_string) param_utf8;
    __typeof__(&OSSL_PARAM_construct_end) param_end;
    __typeof__(&EVP_EncodeBlock) encode_block;
    EVP_MD *sha256;
} X;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_rc = -ELIBACC;
static char load_err[256] = "libcrypto not loaded";
static _Thread_local EVP_MD_CTX *md_ctx;

static void load(void)
{
    const struct sp_dynsym syms[] = {
        {"EVP_MD_fetch", (void **)&X.md_fetch},
        {"EVP_MD_CTX_new", (void **)&X.md_ctx_new},
        {"EVP_DigestInit_ex2", (void **)&X.digest_init},
        {"EVP_DigestUpdate", (void **)&X.digest_update},
        {"EVP_DigestFinal_ex", (void **)&X.digest_final},
        {"EVP_MAC_fetch", (void **)&X.mac_fetch},
        {"EVP_MAC_free", (void **)&X.mac_free},
        {"EVP_MAC_CTX_new", (void **)&X.mac_ctx_new},
        {"EVP_MAC_CTX_free", (void **)&X.mac_ctx_free},
        {"EVP_MAC_init", (void **)&X.mac_init},
        {"EVP_MAC_update", (void **)&X.mac_update},
        {"EVP_MAC_final", (void **)&X.mac_final},
        {"OSSL_PARAM_construct_utf8_string", (void **)&X.param_utf8},
        {"OSSL_PARAM_construct_end", (void **)&X.param_end},
        {"EVP_EncodeBlock", (void **)&X.encode_block},
    };
    int rc = sp_dynlib_load(SP_LIBCRYPTO_SONAME, syms, sizeof(syms) / sizeof(syms[0]), &X.lib,
                            load_err, sizeof(load_err));
    if (rc == 0 && (X.sha256 = X.md_fetch(NULL, "SHA256", NULL)) == NULL) {
        snprintf(load_err, sizeof(load_err), "%s has no SHA256", SP_LIBCRYPTO_SONAME);
        rc = -ELIBACC;
    }
    load_rc = rc;
}

int sp_crypto_load(char *err, size_t errlen)
{
    pthread_once(&load_once, load);
    if (load_rc && err && errlen) {
        snprintf(err, errlen, "%s", load_err);
    }
    return load_rc;
}

int sp_sha256(const struct sp_iov *parts, int n, uint8_t md[SP_SHA256_LEN])
{
    int rc = sp_crypto_load(NULL, 0);
    if (rc) {
        return rc;
    }
    if (md_ctx == NULL && (md_ctx = X.md_ctx_new()) == NULL) {
        return -ENOMEM;
    }
    if (!X.digest_init(md_ctx, X.sha256, NULL)) {
        return -EIO;
    }
    for (int i = 0; i < n; i++) {
        if (parts[i].n && !X.digest_update(md_ctx, parts[i].p, parts[i].n)) {
            return -EIO;
        }
    }
    unsigned int len = 0;
    return X.digest_final(md_ctx, md, &len) && len == SP_SHA256_LEN ? 0 : -EIO;
}

int sp_hmac_sha256(const void *key, size_t key_len, const struct sp_iov *parts, int n,
                   uint8_t mac[SP_SHA256_LEN])
{
    int rc = sp_crypto_load(NULL, 0);
    if (rc) {
        return rc;
    }
    EVP_MAC *hmac = X.mac_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *h = hmac ? X.mac_ctx_new(hmac) : NULL;
    OSSL_PARAM params[] = {X.param_utf8("digest", (char *)"SHA256", 0), X.param_end()};
    size_t len = 0;
    int ok = h && X.mac_init(h, key, key_len, params);
    for (int i = 0; ok && i < n; i++) {
        ok = X.mac_update(h, parts[i].p, parts[i].n);
    }
    ok = ok && X.mac_final(h, mac, &len, SP_SHA256_LEN) && len == SP_SHA256_LEN;
    X.mac_ctx_free(h);
    X.mac_free(hmac);
    return ok ? 0 : -EIO;
}

int sp_base64(const void *in, size_t n, char *out, size_t cap)
{
    if (n > (size_t)0x7fffffff / 2 || 4 * ((n + 2) / 3) + 1 > cap) {
        return -ENOBUFS;
    }
    int rc = sp_crypto_load(NULL, 0);
    if (rc) {
        return rc;
    }
    X.encode_block((unsigned char *)out, in, (int)n);
    return 0;
}
