/* One worker process per run: started by the judge in a process group of
 * its own, from a fixed path, in a fixed empty folder, with a fixed small
 * environment, so that incumbent and candidate see exactly the same world;
 * killed with everything it started when the run ends. Every line it writes
 * is stamped with the judge's clock at the moment it arrives. */
#ifndef QINFER_GATE_RUNNER_H
#define QINFER_GATE_RUNNER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

typedef struct worker {
    pid_t pid;
    int to, from;               /* its stdin, its stdout */
    char buf[1 << 16];
    size_t len, pos;            /* unread bytes in buf[pos, len) */
    double stamp;               /* when the bytes in buf arrived */
    struct rusage ru;           /* after worker_stop */
    int status;                 /* wait status, after worker_stop */
    int reaped;
    char exe[4096];             /* what it was started from */
} worker;

double now_s(void);             /* CLOCK_MONOTONIC seconds */

/* copy exe to rundir/worker and start it there in the sandbox (sandbox.h),
 * model open as fd 3: argv {"worker", "/proc/self/fd/3"}; stderr goes to
 * rundir/stderr.log (at most 16 MiB: RLIMIT_FSIZE). A start that fails in
 * the child is a line "e 1 why" on its stdout. */
int worker_start(worker *w, const char *exe, const char *rundir, const char *model, char *err, size_t err_size);
/* one line without its newline; *t = arrival time. 0, or -1 on end of
 * output, -2 on timeout (deadline in now_s() terms) */
int worker_line(worker *w, char *line, size_t cap, double *t, double deadline);
int worker_bytes(worker *w, void *dst, size_t n, double deadline);
int worker_send(worker *w, const void *buf, size_t n);
/* the private memory a worker may map (RLIMIT_DATA): 2 GiB + twice the model */
uint64_t worker_data_limit(uint64_t model_bytes);
/* the program (exe as given to worker_start) of the last worker that the
 * sandbox killed (SIGSYS: a forbidden system call), or NULL */
const char *runner_sandbox_killed(void);

/* ask it to quit (Q), give it grace_s, then kill the whole group; reap it
 * and keep its rusage. Returns the wait status. */
int worker_stop(worker *w, double grace_s);

/* SIGINT, SIGTERM and SIGHUP kill the running worker's process group, then
 * the judge: a stopped gate leaves nothing behind */
void runner_catch_signals(void);

#endif
