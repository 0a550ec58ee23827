/*
 * caps.h - every hard cap and every default of spindle, in one place.
 *
 * A SP_MAX_* is a hard limit compiled in; a SP_DEF_* is the default of a
 * configurable value (docs/configuration.md lists the key that overrides it).
 */
#ifndef SP_CAPS_H
#define SP_CAPS_H

#define SP_VERSION "0.1.0"

/* --- inputs -------------------------------------------------------------- */
#define SP_MAX_INPUTS 8u                        /* inputs one agent runs (agent/input.h) */

/* --- socket collector --------------------------------------------------- */
#define SP_DEF_MAX_RECORD_BYTES (256u * 1024u)  /* spec: max_record_bytes */
/* The hard cap on max_record_bytes. With the journal on, a record must also
 * fit one journal entry with its 12-byte peer prefix (24-bit length,
 * agent/jformat.h): one over 16 MiB - 13 bytes is too_large there (door.c). */
#define SP_MAX_RECORD_BYTES (16u * 1024u * 1024u)
#define SP_DEF_MAX_CONNECTIONS 1024u
#define SP_DEF_CONN_IDLE_TIMEOUT_MS (3600u * 1000u) /* a silent client is closed after 1 h */
#define SP_DEF_SOCKET_MODE 0660
#define SP_READ_CHUNK (64u * 1024u)             /* bytes asked of the kernel per read */
/* Datagram inputs (net/dgram.c): the protocol's datagram socket and DogStatsD. */
#define SP_DGRAM_MAX_BYTES (64u * 1024u)        /* one datagram; larger ones are cut and dropped */
#define SP_DEF_STATSD_MAX_SERIES 10000u         /* statsd.max_series */
#define SP_DSD_MAX_SET_MEMBERS 65536u           /* distinct members of one set per interval */
#define SP_MAX_ALLOWED_UIDS 64u                 /* socket.allowed_uids, statsd.allowed_uids */
#define SP_MAX_ACK_ID_BYTES 256u
#define SP_MAX_PENDING_WRITE_BYTES (1u * 1024u * 1024u) /* unread acks per connection */

/* --- OTLP/HTTP receiver (collectors/otlp) ------------------------------ */
#define SP_DEF_OTLP_LISTEN "127.0.0.1:4318"     /* otlp.listen; OTLP/HTTP's usual port */
/* otlp.max_request_bytes: a body after gunzip (a gzip bomb stops here, 413).
 * A body is journaled as one entry, whose length word holds 24 bits: with the
 * journal on, the limit is one byte less than 16 MiB. */
#define SP_DEF_OTLP_MAX_REQUEST_BYTES (16u * 1024u * 1024u)
#define SP_MAX_OTLP_REQUEST_BYTES (16u * 1024u * 1024u)
#define SP_OTLP_JOURNAL_MAX_BYTES (16u * 1024u * 1024u - 1u)
/* gzip bodies: the loop inflates one only when it is at most LOOP_IN compressed
 * and stops at LOOP_OUT decompressed (else the thread pool starts it over).
 * Measured on the 2-core dev box (libuv 1.x, zlib): inflating 1 MiB of OTLP-like
 * protobuf takes ~1.1 ms, a thread-pool round trip ~80 us, so 512 KiB (~0.5 ms)
 * is the most the loop spends on one body, and a body that small (at OTLP's
 * usual ~6:1, under 64 KiB compressed) skips the round trip. */
#define SP_OTLP_GZIP_LOOP_IN (64u * 1024u)
#define SP_OTLP_GZIP_LOOP_OUT (512u * 1024u)
#define SP_OTLP_GZIP_INFLIGHT 2u                /* bodies inflating in the pool at once */
#define SP_MAX_OTLP_CORRELATION_KEYS 16u
#define SP_DEF_OTLP_MAX_TRACES 10000u           /* original traces remembered as joined */

/* --- record model ------------------------------------------------------- */
#define SP_MAX_CORRELATION_ID_BYTES 256u        /* spec: 1-256 bytes */
#define SP_MAX_LOG_CORRELATION_KEYS 8u          /* records.log_correlation_keys */
#define SP_DEF_MAX_ATTRIBUTES 128u              /* spec: default 128 */
#define SP_DEF_MAX_ATTR_VALUE_BYTES 4096u       /* longer string values are dropped */
#define SP_MAX_ATTR_DEPTH 8u                    /* nested objects flattened up to this depth */
#define SP_MAX_JSON_DEPTH 64u                   /* deeper documents are malformed_json */
#define SP_MAX_SPAN_EVENTS 128u
/* Times are nanoseconds in a uint64 (as in OTLP): the last second that fits,
 * 2554-07-21, is the end of time; later times are bad_value. */
#define SP_MAX_TIME_S 18446744073ull

/* --- correlator --------------------------------------------------------- */
#define SP_DEF_WF_IDLE_TIMEOUT_MS 60000u        /* spec: idle timeout 60 s */
#define SP_DEF_WF_GRACE_MS 2000u                /* spec: grace after workflow_end 2 s */
#define SP_DEF_CLOSED_TTL_MS 600000u            /* spec: closed ids remembered 10 min */
#define SP_DEF_MAX_OPEN_WORKFLOWS 10000u
#define SP_DEF_MAX_CLOSED_WORKFLOWS 100000u
#define SP_MAX_INVOCATIONS_PER_WORKFLOW 4096u   /* further ones: span at their invocation_start, untracked */
#define SP_CORR_TICK_MS 100u                    /* close-timer resolution */

/* --- metrics ------------------------------------------------------------ */
#define SP_DEF_METRICS_INTERVAL_MS 10000u
#define SP_DEF_MAX_METRIC_SERIES 10000u
#define SP_DEF_METRICS_SERIES_TTL_MS 300000u    /* metrics.series_ttl: 5 min */
#define SP_MAX_EXEMPLARS_PER_POINT 4u
#define SP_MAX_BOUNDS 15u                        /* explicit histogram bounds per series */
/* Instrumentation scopes of the aggregated metrics besides spindle's own (CloudWatch EMF
 * namespaces), among the live series: each is a ScopeMetrics in every request. A record of
 * a further one goes to spindle's scope with its namespace as an attribute, counted
 * accepted_with.metric_scope_limit. */
#define SP_MAX_METRIC_SCOPES 64u

/* --- pipeline and export ------------------------------------------------ */
#define SP_DEF_BATCH_MAX_ITEMS 512u
#define SP_DEF_BATCH_MAX_BYTES (1u * 1024u * 1024u)
#define SP_DEF_BATCH_DELAY_MS 1000u             /* issue: at most 1 s by default */
#define SP_DEF_QUEUE_MAX_BYTES (64u * 1024u * 1024u) /* encoded bytes waiting per exporter+signal */
#define SP_DEF_MAX_INFLIGHT 2u                  /* requests in flight per exporter+signal */
#define SP_MAX_COMPRESS_JOBS 1u                 /* gzip jobs on the thread pool per exporter+signal */
#define SP_DEF_EXPORT_TIMEOUT_MS 10000u         /* OTEL_EXPORTER_OTLP_TIMEOUT default */
#define SP_DEF_SHUTDOWN_TIMEOUT_MS 2000u        /* a Lambda extension's shutdown budget */
#define SP_DEF_RETRY_INITIAL_MS 1000u
#define SP_DEF_RETRY_MAX_MS 30000u
#define SP_DEF_RETRY_MAX_ELAPSED_MS 300000u
#define SP_HTTP_MAX_RESPONSE_BYTES (64u * 1024u)
#define SP_HTTP_MAX_RESPONSE_HEADER_BYTES (16u * 1024u) /* kept with SP_HTTP_KEEP_HEADERS */
/* Ceiling of one encoded export request, compressed or not (and of the
 * buffers that build, gunzip or halve it). Batches are sealed long before:
 * this only stops a runaway encoding; limits.max_memory governs the rest. */
#define SP_MAX_REQUEST_BYTES (256u * 1024u * 1024u)
#define SP_MAX_HEADERS 32u

/* --- file exporter ------------------------------------------------------ */
#define SP_DEF_FILE_MAX_BYTES (16u * 1024u * 1024u) /* one file before rotation */
#define SP_DEF_FILE_MAX_FILES 4u                    /* rotated files kept per signal */

/* --- journal (storage.*) ------------------------------------------------- */
#define SP_DEF_JOURNAL_MAX_BYTES (256u * 1024u * 1024u) /* storage.max_bytes */
#define SP_DEF_JOURNAL_SEGMENT_BYTES (8u * 1024u * 1024u) /* storage.segment_bytes */
#define SP_MIN_JOURNAL_SEGMENT_BYTES (64u * 1024u)
#define SP_MAX_JOURNAL_SEGMENT_BYTES (1024u * 1024u * 1024u)
/* Appended bytes not yet written: past this input pauses until the disk
 * catches up (counted with the memory budget too). */
#define SP_JOURNAL_MAX_BACKLOG (16u * 1024u * 1024u)
#define SP_JOURNAL_REPLAY_BATCH 2048u     /* entries replayed per loop turn */
#define SP_JOURNAL_TICK_MS 250u           /* how often delivered segments are looked for */
#define SP_JOURNAL_MAX_SET_ASIDE 8u       /* *.corrupt segments kept for inspection */

/* --- memory budget ------------------------------------------------------ */
#define SP_DEF_MAX_MEMORY (256u * 1024u * 1024u) /* limits.max_memory */
#define SP_MIN_MAX_MEMORY (4u * 1024u * 1024u)
#define SP_RSS_SAMPLE_MS 1u       /* the process's resident memory is read this often, at most */
#define SP_TRIM_MS 200u           /* malloc_trim() at most this often */

/* --- alerts ------------------------------------------------------------ */
#define SP_DEF_ALERT_EVAL_MS 1000u               /* event rules fire within 2 s: eval every 1 s */
#define SP_DEF_ALERT_RESEND_MS 30000u            /* condition alerts re-sent this often */
#define SP_DEF_ALERT_EVENT_HOLD_MS 3600000u      /* a workflow alert's endsAt = start + 1 h */
#define SP_DEF_ALERT_MAX_SERIES 5000u            /* per rule; the least recently fed is evicted */
#define SP_ALERT_BUCKETS 20u                     /* a window is this many time buckets */
#define SP_ALERT_SAMPLES 64u                     /* values kept per series for p95 */
#define SP_ALERT_MAX_HYSTERESIS 32u              /* N of M-of-N: one bit per evaluation */
#define SP_ALERT_MAX_RULES 64u
#define SP_ALERT_MAX_RULE_KEYS 32u
#define SP_ALERT_MAX_AM_URLS 8u                  /* Alertmanager HA set */
#define SP_ALERT_MAX_KEY_BYTES 256u              /* a scope key (function, queue, workflow) kept */
#define SP_ALERT_MAX_TEXT_BYTES 2048u            /* a rendered summary, description or link */
#define SP_DEF_NOTIFY_QUEUE_MAX 256u             /* requests waiting per notifier; oldest dropped */
#define SP_DEF_NOTIFY_TIMEOUT_MS 5000u
#define SP_DEF_NOTIFY_MAX_ATTEMPTS 5u            /* then dropped, counted retries_exhausted */
#define SP_NOTIFY_BACKOFF_INITIAL_MS 250u        /* notifier retries: 250 ms doubling ... */
#define SP_NOTIFY_BACKOFF_MAX_MS 8000u           /* ... to 8 s, also the cap on a Retry-After */
#define SP_NOTIFY_MAX_BODY_BYTES (4u * 1024u * 1024u)
#define SP_NOTIFY_SPLIT_BYTES (512u * 1024u)     /* an evaluation's alerts go in requests of this size */
#define SP_NOTIFY_MAX_SECRET_BYTES 4096u

/* --- HTTP server (net/http_server.c) ------------------------------------ */
#define SP_DEF_HTTP_MAX_HEADER_BYTES (16u * 1024u) /* request line + headers (+ trailers) stored */
#define SP_DEF_HTTP_MAX_BODY_BYTES (4u * 1024u * 1024u) /* per request; a route may set its own */
#define SP_DEF_HTTP_MAX_CONNECTIONS 256u         /* per server; more are closed at accept */
#define SP_DEF_HTTP_MAX_PIPELINE 16u             /* unanswered requests per connection, then reading stops */
#define SP_DEF_HTTP_HEADER_TIMEOUT_MS 10000u     /* first byte of a request -> end of headers */
#define SP_DEF_HTTP_IDLE_TIMEOUT_MS 60000u       /* silence from a client we wait for */
#define SP_HTTP_MAX_REQUEST_HEADERS 64u          /* header lines per request, then 431 */
#define SP_HTTP_MAX_ROUTES 32u                   /* method + path pairs per server */
#define SP_HTTP_READ_BUF_BYTES (16u * 1024u)     /* per connection; bodies are copied out */
#define SP_HTTP_MAX_PENDING_WRITE_BYTES (1u * 1024u * 1024u) /* unread answers: stop reading */
#define SP_HTTP_LINGER_MS 2000u                  /* reading after an error answer, before close */
#define SP_HTTP_RETRY_AFTER_S 1u                 /* Retry-After of a 503 while paused */
#define SP_HTTP_LISTEN_BACKLOG 511

/* --- admin listener (admin/) ---------------------------------------------- */
#define SP_DEF_ADMIN_LISTEN "127.0.0.1:9464"    /* the OpenTelemetry Prometheus exporter's port */
#define SP_ADMIN_MAX_CONNECTIONS 64u            /* scrapers, browsers and spindlectl at once */
#define SP_ADMIN_MAX_BODY_BYTES 4096u           /* the admin routes take no bodies */
#define SP_ADMIN_METRICS_BYTES (4u * 1024u * 1024u) /* one /metrics answer; past it: 500 */
#define SP_ADMIN_LATENCY_BUCKETS 14u            /* spindle_export_duration_seconds bounds */
#define SP_CORR_MAX_SPAN_NOTES 64u              /* span records per workflow the API shows */
#define SP_ADMIN_RECENT_WORKFLOWS 128u          /* closed workflows the API remembers */
#define SP_ADMIN_WORKFLOW_JSON_BYTES (32u * 1024u) /* one remembered workflow's detail */
#define SP_ADMIN_WATCH_MS (10u * 60u * 1000u)   /* after an API request, closed workflows' details
                                                   and span records are kept this long */
#define SP_ADMIN_API_BYTES (4u * 1024u * 1024u) /* one API answer */
#define SP_ADMIN_DEFAULT_LIMIT 100u             /* workflows listed without ?limit= */
#define SP_ADMIN_TAIL_RECORDS 1024u             /* accepted records kept for followers; then oldest dropped */
#define SP_ADMIN_TAIL_BYTES (1u * 1024u * 1024u) /* ... and at most this many bytes of them */
#define SP_ADMIN_TAIL_IDLE_MS 10000u            /* no follower asked this long: stop keeping them */

/* --- logging ------------------------------------------------------------ */
#define SP_LOG_RATE_WINDOW_MS 10000u            /* per call site: this many lines ... */
#define SP_LOG_RATE_BURST 5u                    /* ... per window, then suppressed and counted */
#define SP_LOG_LINE_MAX 2048u

/* --- Lambda extension (collectors/lambda) -------------------------------- */
#define SP_DEF_LAMBDA_FLUSH_BUDGET_MS 100u        /* runtimeDone -> exported, before event/next */
/* Telemetry API buffering: AWS's published limits (the defaults are the minimums: lowest latency). */
#define SP_LAMBDA_MIN_BUFFER_TIMEOUT_MS 25u
#define SP_LAMBDA_MAX_BUFFER_TIMEOUT_MS 30000u
#define SP_LAMBDA_MIN_BUFFER_ITEMS 1000u
#define SP_LAMBDA_MAX_BUFFER_ITEMS 10000u
#define SP_LAMBDA_MIN_BUFFER_BYTES (256u * 1024u)
#define SP_LAMBDA_MAX_BUFFER_BYTES (1024u * 1024u)
#define SP_LAMBDA_SHUTDOWN_MARGIN_MS 100u         /* SHUTDOWN: deliver by deadlineMs minus this */
#define SP_LAMBDA_MAX_BATCH_BYTES (2u * 1024u * 1024u) /* one Telemetry API POST (413 above) */
/* Requests the Telemetry API codec remembers (request id -> its workflow, its
 * held platform.start). Under Lambda Managed Instances one environment runs
 * many invocations at once (Node.js defaults to 64 per vCPU): this many may be
 * open (started, no runtimeDone yet) before the oldest open one is let go,
 * counted lambda.requests_evicted. Done ones are reused first. */
#define SP_LAMBDA_REQUEST_MAP 1024u
/* Evicted open requests whose workflow was already chosen (a function log
 * line named it): request id -> workflow remembered for this many, so that
 * their end still joins their start. */
#define SP_LAMBDA_EVICTED_MAP 256u
#define SP_LAMBDA_TIMEOUT_MS 5000u                /* register, subscribe, error reports */

#endif
