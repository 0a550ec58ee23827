/*
 * listener.h - the Telemetry API listener of the Lambda extension (inside
 * collectors/lambda): an HTTP server on an ephemeral port whose one route
 * takes Lambda's batches and hands them to the door. A separate file from
 * lambda.c because http_server.h and http_client.h both name a struct
 * sp_http_request.
 */
#ifndef COL_LAMBDA_LISTENER_H
#define COL_LAMBDA_LISTENER_H

struct spindle;
struct sp_tapi_result;
struct lambda_listener;

#define COL_LAMBDA_TELEMETRY_PATH "/telemetry"

/* Called after each batch went through the door (what it held). */
typedef void (*lambda_batch_fn)(void *arg, const struct sp_tapi_result *res);

/* Binds on all addresses, or on 127.0.0.1 when sandbox.localdomain is not
 * in /etc/hosts (outside Lambda), port 0. 0 or -errno; *port is the real port. */
int lambda_listener_start(struct spindle *sp, lambda_batch_fn fn, void *arg,
                          struct lambda_listener **out, int *port);
void lambda_listener_pause(struct lambda_listener *l);
void lambda_listener_resume(struct lambda_listener *l);
/* Closes the server; done(arg) runs once it is freed. */
void lambda_listener_close(struct lambda_listener *l, void (*done)(void *arg), void *arg);
/* 1 when sandbox.localdomain is in /etc/hosts. */
int lambda_sandbox_resolves(void);

#endif
