/*
 * streams.h - the daemon's WAL streams: for each postgres-physical
 * component with `stream: true`, `lifeboat daemon` keeps a `lifeboat
 * wal-stream` running in a child process (the component's repository and
 * connection, spool STATE/wal-stream/NAME, its `slot:`), restarts it with a
 * backoff (1 s doubling to 60 s, from 1 s again after a run of a minute)
 * when it ends, follows reloads (a stream whose command line changed is
 * restarted, one no longer configured is stopped) and stops every stream
 * when the daemon ends (SIGTERM, so each uploads what it holds; SIGKILL
 * after SCHED_STREAM_STOP_WAIT_MS).
 *
 * A stream child runs the command through the dispatch in process (no exec,
 * so the connection string is never on a command line). The loop reaps
 * every child with waitpid(-1): a stream's end is seen as the end of a pipe
 * only the child holds.
 *
 * Ownership: schedStreamsNew's result is freed with schedStreamsFree (which
 * stops the streams); the hooks are borrowed from it.
 */
#ifndef LIFEBOAT_SCHED_STREAMS_H
#define LIFEBOAT_SCHED_STREAMS_H

#include "sched/loop.h"
#include "sched/work.h"

#define SCHED_STREAM_STOP_WAIT_MS 30000

typedef struct SchedStreams SchedStreams;

SchedStreams *schedStreamsNew(SchedDispatch dispatch);
const SchedHooks *schedStreamsHooks(SchedStreams *streams);
void schedStreamsFree(SchedStreams *streams);

#endif
