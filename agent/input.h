/*
 * input.h - the interface every input implements (the stream socket today;
 * the datagram socket, the OTLP/HTTP receiver, DogStatsD and the Lambda
 * Telemetry API listener next). docs/internals/architecture.md says where a
 * new input goes and what it must implement.
 *
 * An input owns its listeners and connections and nothing else: what it
 * receives goes through the one door into the core (door.h), which parses,
 * counts, journals and routes. The core controls an input only through these
 * slots (flow control pauses and resumes every input; the journal's durable
 * position releases acks), never by name. The top (main.c) names the inputs
 * and hands them to the core (sp_agent_add_input()).
 *
 * Every slot is filled: an input with nothing to do in one uses the defaults
 * below, so the core never NULL-checks a slot.
 */
#ifndef SP_INPUT_H
#define SP_INPUT_H

#include <stdint.h>

struct spindle;
struct sp_input;

struct sp_input_ops {
    /* Its name in logs and its configuration section (`socket.*`). */
    const char *name;
    /* Allocates its state (in->priv) from sp->cfg; binds nothing yet. 0 or -errno. */
    int (*init)(struct sp_input *in);
    /* Binds and starts accepting. A failure stops start-up (exit 1); the
     * input then logs what failed and releases what it bound. 0 or -errno. */
    int (*start)(struct sp_input *in);
    /* Flow control: stop taking input (the kernel pushes back on senders,
     * or the input answers "busy") / take it again. Called only on a change. */
    void (*pause)(struct sp_input *in);
    void (*resume)(struct sp_input *in);
    /* The journal is durable up to `pos` (sp_door_ack_pos() positions):
     * acknowledgements waiting for it may go out. */
    void (*durable)(struct sp_input *in, uint64_t pos);
    /* Shutdown, first step: take no new connections or requests. */
    void (*stop_accepting)(struct sp_input *in);
    /* Shutdown, last step: hand what is buffered to the door, close every
     * connection, free in->priv once its handles are closed. */
    void (*close)(struct sp_input *in);
};

struct sp_input {
    const struct sp_input_ops *ops;
    struct spindle *sp;
    void *priv;
};

/* Defaults for the slots an input has no use for. */
int sp_input_init_none(struct sp_input *in);
void sp_input_nop(struct sp_input *in);
void sp_input_durable_none(struct sp_input *in, uint64_t pos);

#endif
