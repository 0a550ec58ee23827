/*
 * register.h - the Lambda extension's register request without libcurl
 * (inside collectors/lambda). Lambda waits for every extension to register
 * before it goes on with the function's init, so the request goes out
 * first thing: over a plain socket, written before libcurl (5-15 ms to
 * load with the libraries it pulls in) is loaded for the calls after it.
 * The Runtime API is plain HTTP/1.1 on a numeric host:port
 * (AWS_LAMBDA_RUNTIME_API, "127.0.0.1:9001" in Lambda).
 */
#ifndef COL_LAMBDA_REGISTER_H
#define COL_LAMBDA_REGISTER_H

#include <stddef.h>

/* Connects to `api` ("host:port", numeric IPv4 or [IPv6]) and writes the
 * register request (events INVOKE and SHUTDOWN, or SHUTDOWN only when
 * `shutdown_only`), waiting at most timeout_ms for the connection.
 * Returns the connected non-blocking socket, or -errno: -EAFNOSUPPORT when
 * `api` is not numeric (the caller then registers through libcurl). */
int lambda_register_send(const char *api, int shutdown_only, int timeout_ms);

/* Parses the answer's status line and headers, buf[0..n). 1 when the head
 * is complete (*status, and the Lambda-Extension-Identifier into id, "" when
 * absent), 0 when more is needed, -EBADMSG when it is no HTTP/1.x answer. */
int lambda_register_parse(const char *buf, size_t n, long *status, char *id, size_t idlen);

#endif
