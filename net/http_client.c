/*
 * http_client.c - asynchronous HTTP client (POST, GET, PUT). See http_client.h.
 *
 * libcurl's multi interface driven by the agent's one libuv loop, the standard socket-action
 * integration:
 *   - CURLMOPT_SOCKETFUNCTION creates, updates and stops one uv_poll_t per curl socket; its
 *     context (struct sp_http_sock) is attached to the socket with curl_multi_assign();
 *   - CURLMOPT_TIMERFUNCTION (re)arms the one uv_timer_t; curl_multi_socket_action() is only ever
 *     called from uv callbacks (poll or timer), never from inside a curl callback;
 *   - after every curl_multi_socket_action() the finished transfers are drained with
 *     curl_multi_info_read() and their callbacks run.
 *
 * Ownership: the caller owns each request's url, headers and body until its callback ran (the
 * body is handed to curl with CURLOPT_POSTFIELDS, which does not copy). The client owns the
 * multi handle, one easy handle + header list + response buffer per request, the timer and the
 * poll contexts. A uv handle's memory is freed only in its close callback; the client itself is
 * freed once the last of its handles has been closed (counted in open_handles).
 *
 * Single-threaded: everything runs on the loop's thread. The only globals are the
 * curl_global_init() flag and the default CA bundle found with it (probe_default_ca).
 */
#include "http_client.h"

#include "caps.h"
#include "dynlib.h"
#include "log.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One uv_poll_t watching one curl socket. Created fresh for every socket curl announces, closed
 * on CURL_POLL_REMOVE: curl may hand out the same fd number again later, and a new context keeps
 * a closing handle from ever being restarted. */
struct sp_http_sock {
    uv_poll_t poll;
    struct sp_http *h;
    curl_socket_t fd;
    struct sp_http_sock *prev, *next; /* h->socks: live (not yet closing) contexts */
};

struct sp_http_req {
    struct sp_http *h;
    CURL *easy;
    struct curl_slist *headers;
    sp_http_cb cb;
    void *arg;
    char *resp; /* response body, capped at SP_HTTP_MAX_RESPONSE_BYTES */
    size_t resp_len;
    size_t resp_alloc;
    int retry_after_seen; /* the final response carried a usable Retry-After */
    int keep_headers;     /* SP_HTTP_KEEP_HEADERS: the final response's header lines go in hdrs */
    char *hdrs;           /* capped at SP_HTTP_MAX_RESPONSE_HEADER_BYTES */
    size_t hdrs_len;
    char errbuf[CURL_ERROR_SIZE];
    struct sp_http_req *prev, *next; /* h->reqs: in flight */
};

struct sp_http {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    char *user_agent;
    struct sp_http_req *reqs;
    size_t inflight;
    struct sp_http_sock *socks;
    size_t open_handles; /* uv handles not yet through their close callback (timer + polls) */
    int closing;
    void (*on_closed)(void *arg);
    void *on_closed_arg;
};

/*
 * libcurl is loaded when the first client is made, not linked: it pulls in
 * 28 shared libraries (TLS, HTTP/2, LDAP, Kerberos, ...) whose mapping took
 * most of spindle's 5.5 ms from exec to a ready socket, for an agent that
 * often exports to files only. The function table and the once-per-process
 * curl_global_init() are process-wide by nature, hence static; they never
 * change once loaded.
 */
static struct {
    void *lib;
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    time_t (*getdate)(const char *, const time_t *);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_assign)(CURLM *, curl_socket_t, void *);
    CURLMcode (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    CURLMcode (*multi_cleanup)(CURLM *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} C;

static int curl_ready;

#define SP_LIBCURL_SONAME "libcurl.so.4"

/* Loads libcurl and initialises it, once. 0, or -ELIBACC with the reason in
 * `err`. */
static int curl_load(char *err, size_t errlen)
{
    if (curl_ready) {
        return 0;
    }
    static const struct sp_dynsym syms[] = {
#define SYM(n) {"curl_" #n, (void **)&C.n}
        SYM(global_init), SYM(easy_init), SYM(easy_setopt), SYM(easy_getinfo),
        SYM(easy_cleanup), SYM(easy_strerror), SYM(getdate), SYM(multi_init),
        SYM(multi_setopt), SYM(multi_add_handle), SYM(multi_remove_handle), SYM(multi_assign),
        SYM(multi_socket_action), SYM(multi_info_read), SYM(multi_cleanup), SYM(slist_append),
        SYM(slist_free_all),
#undef SYM
    };
    void *lib;
    int rc = sp_dynlib_load(SP_LIBCURL_SONAME, syms, sizeof(syms) / sizeof(syms[0]), &lib, err,
                            errlen);
    if (rc) {
        return rc;
    }
    if (C.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "curl_global_init failed");
        dlclose(lib);
        return -ELIBACC;
    }
    C.lib = lib;
    curl_ready = 1;
    return 0;
}

static const char aborted_msg[] = "aborted";

/* --- the default CA bundle ---------------------------------------------- */

/*
 * The CA bundle a request uses when it names none. libcurl verifies against the bundle path
 * compiled into it; the Lambda layer carries Debian's libcurl, whose path
 * (/etc/ssl/certs/ca-certificates.crt) does not exist on Amazon Linux 2023, so every https://
 * request there would fail ("error setting certificate file"). Found once, when libcurl is
 * loaded (after the Lambda register request, never on the path before it); "" = libcurl's own
 * default is fine. Process-wide like the function table: it describes the machine.
 */
static char default_ca[PATH_MAX];
static int ca_probed;

/* Where distributions keep their PEM bundle of trusted CAs, tried in this order when libcurl's
 * own is missing (docs/configuration.md lists them). */
static const char *const ca_bundles[] = {
    "/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu, Alpine, Arch */
    "/etc/pki/tls/certs/ca-bundle.crt",                  /* Amazon Linux, Fedora, RHEL */
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* the same file behind that link */
    "/etc/ssl/ca-bundle.pem",                            /* openSUSE, SLES */
    "/etc/ssl/cert.pem",                                 /* Alpine, the BSDs */
};

/* A regular file this process can open for reading. */
static int readable_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        return 0;
    }
    struct stat st;
    int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    close(fd);
    return ok;
}

/* Sets default_ca, once per process: SSL_CERT_FILE when it names a readable file (OpenSSL's own
 * variable, which a libcurl built with a fixed bundle path otherwise ignores); else nothing when
 * libcurl's compiled-in bundle is there; else the first of ca_bundles that is. A few open()s. */
static void probe_default_ca(void)
{
    if (ca_probed) {
        return;
    }
    ca_probed = 1;
    const char *env = getenv("SSL_CERT_FILE");
    if (env != NULL && env[0] != '\0') {
        if (readable_file(env) && strlen(env) < sizeof(default_ca)) {
            snprintf(default_ca, sizeof(default_ca), "%s", env);
            SP_LOG(SP_LOG_INFO, "CA bundle from SSL_CERT_FILE", "path=\"%s\"", env);
            return;
        }
        SP_LOG(SP_LOG_WARN, "SSL_CERT_FILE is not a readable file; ignored", "path=\"%s\"", env);
    }
    /* CURLINFO_CAINFO (libcurl 7.84+) on a fresh handle is the compiled-in path; an older
     * libcurl does not know it and leaves it NULL, and then the usual places are tried. */
    char builtin[PATH_MAX] = "";
    CURL *e = C.easy_init();
    if (e != NULL) {
        char *p = NULL;
        if (C.easy_getinfo(e, CURLINFO_CAINFO, &p) == CURLE_OK && p != NULL) {
            snprintf(builtin, sizeof(builtin), "%s", p);
        }
        C.easy_cleanup(e);
    }
    if (builtin[0] != '\0' && readable_file(builtin)) {
        return;
    }
    for (size_t i = 0; i < sizeof(ca_bundles) / sizeof(ca_bundles[0]); i++) {
        if (strcmp(ca_bundles[i], builtin) != 0 && readable_file(ca_bundles[i])) {
            snprintf(default_ca, sizeof(default_ca), "%s", ca_bundles[i]);
            SP_LOG(SP_LOG_INFO, "libcurl's CA bundle is missing here; using the system's",
                   "path=\"%s\" libcurl_default=\"%s\"", default_ca, builtin);
            return;
        }
    }
    SP_LOG(SP_LOG_WARN,
           "no CA bundle found: https:// requests will fail verification unless a CA file is set",
           "libcurl_default=\"%s\" see=\"otlp.tls.ca_file, OTEL_EXPORTER_OTLP_CERTIFICATE\"",
           builtin);
}

/* --- requests ----------------------------------------------------------- */

static void req_unlink(struct sp_http *h, struct sp_http_req *r)
{
    if (r->prev != NULL) {
        r->prev->next = r->next;
    } else {
        h->reqs = r->next;
    }
    if (r->next != NULL) {
        r->next->prev = r->prev;
    }
    r->prev = r->next = NULL;
    h->inflight--;
}

static void req_free(struct sp_http_req *r)
{
    if (r->easy != NULL) {
        C.easy_cleanup(r->easy);
    }
    C.slist_free_all(r->headers);
    free(r->resp);
    free(r->hdrs);
    free(r);
}

/* Runs the callback of a request already unlinked and removed from the multi handle, then frees
 * it. The callback may post new requests or close the client. */
static void req_finish(struct sp_http_req *r, const struct sp_http_response *resp)
{
    r->cb(r->arg, resp);
    req_free(r);
}

/* The response of a transfer curl reported done with `result`. */
static void req_complete(struct sp_http_req *r, CURLcode result)
{
    struct sp_http_response resp = {.retry_after_s = -1, .body = r->resp, .body_len = r->resp_len,
                                    .headers = r->hdrs, .headers_len = r->hdrs_len};
    long status = 0;
    curl_off_t retry = 0;

    C.easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    /* A 1xx is not a verdict: only a final status counts as "a response was received". When
     * curl failed after a final status arrived (reset or timeout while reading the body), the
     * status is still the server's verdict on the request, so it is reported as such. */
    if (status < 200) {
        status = 0;
    }
    resp.status = status;
    if (status == 0) {
        resp.transport_error = 1;
        resp.timed_out = result == CURLE_OPERATION_TIMEDOUT;
        if (result == CURLE_OK) {
            resp.error = "no HTTP response";
        } else {
            resp.error = r->errbuf[0] != '\0' ? r->errbuf : C.easy_strerror(result);
        }
    }
    /* CURLINFO_RETRY_AFTER is 0 both for an absent header and for "0", hence the flag from the
     * header callback. A date in the past comes back negative: that means "now". */
    if (r->retry_after_seen &&
        C.easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &retry) == CURLE_OK) {
        if (retry < 0) {
            retry = 0;
        }
        resp.retry_after_s = retry > LONG_MAX ? LONG_MAX : (long)retry;
    }
    req_finish(r, &resp);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct sp_http_req *r = userp;
    size_t n = size * nmemb;
    size_t room = SP_HTTP_MAX_RESPONSE_BYTES - r->resp_len;
    size_t take = n < room ? n : room;

    if (take > 0 && r->resp_len + take > r->resp_alloc) {
        size_t alloc = r->resp_alloc ? r->resp_alloc : 1024;
        while (alloc < r->resp_len + take) {
            alloc *= 2;
        }
        if (alloc > SP_HTTP_MAX_RESPONSE_BYTES) {
            alloc = SP_HTTP_MAX_RESPONSE_BYTES;
        }
        char *p = realloc(r->resp, alloc);
        if (p == NULL) {
            take = 0; /* the body is informational: lose it rather than fail the request */
        } else {
            r->resp = p;
            r->resp_alloc = alloc;
        }
    }
    if (take > 0) {
        memcpy(r->resp + r->resp_len, data, take);
        r->resp_len += take;
    }
    /* Always claim everything: a short count would make curl fail the transfer, and a response
     * beyond the cap is to be discarded, not treated as an error. */
    return n;
}

/* Only watches for Retry-After; curl parses the value itself (CURLINFO_RETRY_AFTER). */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct sp_http_req *r = userp;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    const size_t name_len = sizeof(name) - 1;

    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        /* A new response (after a 1xx): headers of the previous one do not apply. */
        r->retry_after_seen = 0;
        r->hdrs_len = 0;
        return n;
    }
    if (r->keep_headers && n > 2 && r->hdrs_len + n <= SP_HTTP_MAX_RESPONSE_HEADER_BYTES) {
        if (r->hdrs == NULL) {
            r->hdrs = malloc(SP_HTTP_MAX_RESPONSE_HEADER_BYTES);
        }
        if (r->hdrs != NULL) {
            memcpy(r->hdrs + r->hdrs_len, data, n);
            r->hdrs_len += n;
        }
    }
    if (n > name_len && strncasecmp(data, name, name_len) == 0) {
        /* Mirror what curl accepts: a delay in seconds, or an HTTP-date. Anything else is
         * treated as absent, as RFC 9110 asks, instead of as "retry now". */
        char v[64];
        size_t i = name_len;
        size_t len = 0;
        while (i < n && (data[i] == ' ' || data[i] == '\t')) {
            i++;
        }
        while (i < n && data[i] != '\r' && data[i] != '\n' && len < sizeof(v) - 1) {
            v[len++] = data[i++];
        }
        v[len] = '\0';
        if (len > 0 && ((v[0] >= '0' && v[0] <= '9') || C.getdate(v, NULL) != -1)) {
            r->retry_after_seen = 1;
        }
    }
    return n;
}

/* --- sockets and timer -------------------------------------------------- */

static void maybe_free_client(struct sp_http *h)
{
    if (!h->closing || h->open_handles > 0) {
        return;
    }
    void (*on_closed)(void *) = h->on_closed;
    void *arg = h->on_closed_arg;
    free(h->user_agent);
    free(h);
    if (on_closed != NULL) {
        on_closed(arg);
    }
}

static void on_sock_closed(uv_handle_t *handle)
{
    struct sp_http_sock *s = handle->data;
    struct sp_http *h = s->h;

    free(s);
    h->open_handles--;
    maybe_free_client(h);
}

static void on_timer_closed(uv_handle_t *handle)
{
    struct sp_http *h = handle->data;

    h->open_handles--;
    maybe_free_client(h);
}

/* Stops watching and closes; the context is freed in on_sock_closed. uv_close() takes the fd out
 * of epoll at once, so curl may reuse the fd number for a new context right away. */
static void sock_close(struct sp_http_sock *s)
{
    struct sp_http *h = s->h;

    if (s->prev != NULL) {
        s->prev->next = s->next;
    } else {
        h->socks = s->next;
    }
    if (s->next != NULL) {
        s->next->prev = s->prev;
    }
    s->prev = s->next = NULL;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

/* Hands every finished transfer to its callback. Stops as soon as a callback closed the client:
 * the multi handle is gone then (h itself stays valid until its handles' close callbacks). */
static void drain_done(struct sp_http *h)
{
    CURLMsg *msg;
    int left;

    while (!h->closing && (msg = C.multi_info_read(h->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        /* msg is only valid until the next curl call on the multi handle: copy first. */
        CURL *easy = msg->easy_handle;
        CURLcode result = msg->data.result;
        char *priv = NULL;
        C.easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        struct sp_http_req *r = (struct sp_http_req *)(void *)priv;
        C.multi_remove_handle(h->multi, easy);
        req_unlink(h, r);
        req_complete(r, result);
    }
}

static void on_poll(uv_poll_t *poll, int status, int events)
{
    struct sp_http_sock *s = poll->data;
    struct sp_http *h = s->h; /* s may be closed by curl below; h outlives it */
    int flags = 0;
    int running;

    if (status < 0) {
        flags = CURL_CSELECT_ERR;
    } else {
        if (events & UV_READABLE) {
            flags |= CURL_CSELECT_IN;
        }
        if (events & UV_WRITABLE) {
            flags |= CURL_CSELECT_OUT;
        }
    }
    C.multi_socket_action(h->multi, s->fd, flags, &running);
    drain_done(h);
}

static void on_timer(uv_timer_t *timer)
{
    struct sp_http *h = timer->data;
    int running;

    C.multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain_done(h);
}

/* CURLMOPT_SOCKETFUNCTION: curl says what to watch on socket fd. Returns 0 or -1 (curl's
 * convention). */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct sp_http *h = userp;
    struct sp_http_sock *s = socketp;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            C.multi_assign(h->multi, fd, NULL);
            sock_close(s);
        }
        return 0;
    }
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL) {
            return -1;
        }
        if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
            /* Not registered with the loop on failure: plain free is right. */
            free(s);
            return -1;
        }
        s->poll.data = s;
        s->h = h;
        s->fd = fd;
        s->next = h->socks;
        if (h->socks != NULL) {
            h->socks->prev = s;
        }
        h->socks = s;
        h->open_handles++;
        C.multi_assign(h->multi, fd, s);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) {
        events |= UV_READABLE;
    }
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) {
        events |= UV_WRITABLE;
    }
    /* On an active handle this only changes the event mask. */
    if (uv_poll_start(&s->poll, events, on_poll) != 0) {
        return -1;
    }
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: only (re)arms the timer. Calling curl_multi_socket_action() from here
 * would re-enter curl (and could complete a request inside sp_http_post); a 0 ms timer runs it
 * from the loop instead. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct sp_http *h = userp;

    (void)multi;
    if (timeout_ms < 0) {
        uv_timer_stop(&h->timer);
        return 0;
    }
    return uv_timer_start(&h->timer, on_timer, (uint64_t)timeout_ms, 0) == 0 ? 0 : -1;
}

/* --- API ---------------------------------------------------------------- */

int sp_http_init(struct sp_http **out, uv_loop_t *loop, const char *user_agent)
{
    if (out == NULL || loop == NULL) {
        return -EINVAL;
    }
    *out = NULL;
    char err[256];
    int rc = curl_load(err, sizeof(err));
    if (rc) {
        SP_LOG(SP_LOG_ERROR, "cannot load libcurl, which OTLP/HTTP and the notifiers need",
               "library=%s error=\"%s\"", SP_LIBCURL_SONAME, err);
        return rc;
    }
    probe_default_ca();
    struct sp_http *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        return -ENOMEM;
    }
    h->loop = loop;
    if (user_agent != NULL && (h->user_agent = strdup(user_agent)) == NULL) {
        free(h);
        return -ENOMEM;
    }
    h->multi = C.multi_init();
    if (h->multi == NULL) {
        free(h->user_agent);
        free(h);
        return -ENOMEM;
    }
    int bad = 0;
    bad |= C.multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK;
    bad |= C.multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h) != CURLM_OK;
    bad |= C.multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK;
    bad |= C.multi_setopt(h->multi, CURLMOPT_TIMERDATA, h) != CURLM_OK;
    if (bad) {
        C.multi_cleanup(h->multi);
        free(h->user_agent);
        free(h);
        return -EINVAL;
    }
    /* Last, so that nothing above needs to close a uv handle on failure. */
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    h->open_handles = 1;
    *out = h;
    return 0;
}

/* What sp_http_send() adds to a POST: another method, kept headers. NULL: a plain POST. */
struct send_ext {
    const char *method;
    unsigned flags;
};

static int submit(struct sp_http *h, const struct sp_http_call *req,
                  const struct send_ext *ext, sp_http_cb cb, void *arg)
{
    if (h == NULL || req == NULL || req->url == NULL || cb == NULL || req->timeout_ms < 0 ||
        (req->body == NULL && req->body_len > 0) || (req->headers == NULL && req->n_headers > 0)) {
        return -EINVAL;
    }
    if (h->closing) {
        return -ESHUTDOWN;
    }
    struct sp_http_req *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return -ENOMEM;
    }
    r->h = h;
    r->cb = cb;
    r->arg = arg;
    r->easy = C.easy_init();
    if (r->easy == NULL) {
        req_free(r);
        return -ENOMEM;
    }
    for (size_t i = 0; i < req->n_headers; i++) {
        struct curl_slist *l = C.slist_append(r->headers, req->headers[i]);
        if (l == NULL) {
            req_free(r);
            return -ENOMEM;
        }
        r->headers = l;
    }
    /* libcurl 7.88 sends "Expect: 100-continue" for bodies over 1 MiB and then waits up to a
     * second for a server that ignores it; an empty Expect: header turns that off. */
    struct curl_slist *l = C.slist_append(r->headers, "Expect:");
    if (l == NULL) {
        req_free(r);
        return -ENOMEM;
    }
    r->headers = l;

    CURL *e = r->easy;
    int bad = 0;
    bad |= C.easy_setopt(e, CURLOPT_URL, req->url) != CURLE_OK;
    /* Only HTTP(S): the URL comes from configuration, no file:// or other schemes. */
    bad |= C.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    /* No SIGALRM-based DNS timeouts: they are not safe in a loop-driven process. */
    bad |= C.easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    /* An explicit size: the body is binary, curl must not strlen() it. POSTFIELDS does not copy;
     * the caller keeps the body alive. A NULL POSTFIELDS would switch curl to its read callback
     * (stdin by default), hence "" for an empty body. */
    bad |= C.easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len) != CURLE_OK;
    bad |= C.easy_setopt(e, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "") != CURLE_OK;
    bad |= C.easy_setopt(e, CURLOPT_HTTPHEADER, r->headers) != CURLE_OK;
    if (h->user_agent != NULL) {
        bad |= C.easy_setopt(e, CURLOPT_USERAGENT, h->user_agent) != CURLE_OK;
    }
    /* 0 is curl's "no timeout". */
    bad |= C.easy_setopt(e, CURLOPT_TIMEOUT_MS, req->timeout_ms) != CURLE_OK;
    bad |= C.easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
    bad |= C.easy_setopt(e, CURLOPT_WRITEDATA, r) != CURLE_OK;
    bad |= C.easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
    bad |= C.easy_setopt(e, CURLOPT_HEADERDATA, r) != CURLE_OK;
    bad |= C.easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf) != CURLE_OK;
    bad |= C.easy_setopt(e, CURLOPT_PRIVATE, r) != CURLE_OK;
    /* TLS: curl copies these strings, and keeps connections made with other files apart (a
     * cached connection is reused only by a request with the same TLS settings). */
    const struct sp_http_tls *tls = req->tls;
    if (tls != NULL && tls->ca_file != NULL && tls->ca_file[0] != '\0') {
        /* The configured bundle is the whole trust, as in the OpenTelemetry Collector's
         * ca_file: the compiled-in CA folder must not widen it. */
        bad |= C.easy_setopt(e, CURLOPT_CAINFO, tls->ca_file) != CURLE_OK;
        bad |= C.easy_setopt(e, CURLOPT_CAPATH, (char *)NULL) != CURLE_OK;
    } else if (default_ca[0] != '\0') {
        bad |= C.easy_setopt(e, CURLOPT_CAINFO, default_ca) != CURLE_OK;
    }
    if (tls != NULL && tls->cert_file != NULL && tls->cert_file[0] != '\0') {
        bad |= C.easy_setopt(e, CURLOPT_SSLCERT, tls->cert_file) != CURLE_OK;
    }
    if (tls != NULL && tls->key_file != NULL && tls->key_file[0] != '\0') {
        bad |= C.easy_setopt(e, CURLOPT_SSLKEY, tls->key_file) != CURLE_OK;
    }
    if (ext != NULL) {
        r->keep_headers = (ext->flags & SP_HTTP_KEEP_HEADERS) != 0;
        if (strcmp(ext->method, "GET") == 0) {
            /* Undoes POSTFIELDS: a GET with no body. */
            bad |= C.easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK;
        } else if (strcmp(ext->method, "PUT") == 0) {
            /* The body as for POST, under another verb (CURLOPT_UPLOAD would need a read
             * callback for what is already in memory). */
            bad |= C.easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT") != CURLE_OK;
        }
    }
    if (bad) {
        req_free(r);
        return -EINVAL;
    }
    /* Connections are kept in the multi handle's cache and reused by later requests. Adding only
     * arms the timer (at 0 ms): the transfer, and so the callback, starts from the loop. */
    if (C.multi_add_handle(h->multi, e) != CURLM_OK) {
        req_free(r);
        return -ENOMEM;
    }
    r->next = h->reqs;
    if (h->reqs != NULL) {
        h->reqs->prev = r;
    }
    h->reqs = r;
    h->inflight++;
    return 0;
}

int sp_http_post(struct sp_http *h, const struct sp_http_call *req, sp_http_cb cb, void *arg)
{
    return submit(h, req, NULL, cb, arg);
}

int sp_http_send(struct sp_http *h, const char *method, const struct sp_http_call *req,
                 unsigned flags, sp_http_cb cb, void *arg)
{
    if (method == NULL || (strcmp(method, "GET") != 0 && strcmp(method, "PUT") != 0 &&
                           strcmp(method, "POST") != 0)) {
        return -EINVAL;
    }
    const struct send_ext ext = {.method = method, .flags = flags};
    return submit(h, req, &ext, cb, arg);
}

int sp_http_response_header(const struct sp_http_response *resp, const char *name, char *out,
                            size_t n)
{
    size_t name_len = strlen(name);
    const char *p = resp->headers;
    const char *end = p != NULL ? p + resp->headers_len : NULL;
    while (p != NULL && p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol != NULL ? eol : end;
        if ((size_t)(line_end - p) > name_len && p[name_len] == ':' &&
            strncasecmp(p, name, name_len) == 0) {
            const char *v = p + name_len + 1;
            const char *ve = line_end;
            while (v < ve && (*v == ' ' || *v == '\t')) {
                v++;
            }
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) {
                ve--;
            }
            size_t len = (size_t)(ve - v);
            if (len + 1 > n) {
                return -ENOSPC;
            }
            memcpy(out, v, len);
            out[len] = '\0';
            return (int)len;
        }
        p = eol != NULL ? eol + 1 : end;
    }
    return -ENOENT;
}

size_t sp_http_inflight(const struct sp_http *h)
{
    return h != NULL ? h->inflight : 0;
}

void sp_http_close(struct sp_http *h, void (*on_closed)(void *arg), void *arg)
{
    if (h == NULL || h->closing) {
        return;
    }
    h->closing = 1;
    h->on_closed = on_closed;
    h->on_closed_arg = arg;

    /* Callbacks may post (refused: closing) or call sp_http_close (ignored) meanwhile. An abort is
     * not a network failure, so transport_error stays 0: nothing should be retried for it. */
    struct sp_http_req *r;
    while ((r = h->reqs) != NULL) {
        req_unlink(h, r);
        C.multi_remove_handle(h->multi, r->easy);
        struct sp_http_response resp = {
            .status = 0,
            .transport_error = 0,
            .error = aborted_msg,
            .retry_after_s = -1,
        };
        req_finish(r, &resp);
    }
    /* Stop watching what is left (cached connections are normally unwatched already) before
     * curl_multi_cleanup() closes those sockets: an fd must not be closed under an active poll. */
    while (h->socks != NULL) {
        C.multi_assign(h->multi, h->socks->fd, NULL);
        sock_close(h->socks);
    }
    C.multi_cleanup(h->multi);
    h->multi = NULL;
    uv_close((uv_handle_t *)&h->timer, on_timer_closed);
}
