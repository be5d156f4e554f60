/* Worker processes; see runner.h. */
#include "runner.h"
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int copy_file(const char *from, const char *to) {
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0) return -1;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", to);
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (out < 0) { close(in); return -1; }
    char buf[1 << 16];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) { rc = -1; break; }
    if (n < 0) rc = -1;
    close(in);
    if (close(out)) rc = -1;
    if (!rc) rc = rename(tmp, to);
    return rc;
}

static const char exec_path[] = "./worker"; /* the one exec the sandbox allows */

uint64_t worker_data_limit(uint64_t model_bytes) {
    return (2ull << 30) + 2 * model_bytes;
}

static char sandbox_killed[4096]; /* the program of the last worker the sandbox killed */

const char *runner_sandbox_killed(void) {
    return sandbox_killed[0] ? sandbox_killed : NULL;
}

static volatile sig_atomic_t running_group; /* the live worker's process group, 0 if none */

static void on_signal(int sig) {
    if (running_group > 0) kill(-running_group, SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

void runner_catch_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

int worker_start(worker *w, const char *exe, const char *rundir, const char *model, char *err, size_t err_size) {
    memset(w, 0, sizeof *w);
    w->pid = -1;
    snprintf(w->exe, sizeof w->exe, "%s", exe);
    w->to = w->from = -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/worker", rundir);
    if (copy_file(exe, path)) { snprintf(err, err_size, "cannot copy %s to %s: %s", exe, path, strerror(errno)); return -1; }
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC)) { snprintf(err, err_size, "pipe: %s", strerror(errno)); return -1; }
    if (pipe2(out, O_CLOEXEC)) { close(in[0]); close(in[1]); snprintf(err, err_size, "pipe: %s", strerror(errno)); return -1; }
    pid_t judge = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, err_size, "fork: %s", strerror(errno));
        close(in[0]); close(in[1]); close(out[0]); close(out[1]);
        return -1;
    }
    if (pid == 0) {
        /* the child has only system calls and stack buffers: the judge has threads */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* the judge gone: so is the worker */
        if (getppid() != judge) _exit(127);
        dup2(in[0], 0);
        dup2(out[1], 1);
        char log[4096], msg[512];
        snprintf(log, sizeof log, "%s/stderr.log", rundir);
        int e = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (e >= 0) dup2(e, 2);
        /* the model is opened here, the worker reads it as /proc/self/fd/3:
         * the same argument for every worker, wherever the file lies */
        int m = open(model, O_RDONLY);
        struct stat st;
        if (m < 0 || fstat(m, &st) || (m != 3 && dup2(m, 3) != 3)) {
            snprintf(msg, sizeof msg, "e 1 cannot open %s: %s\n", model, strerror(errno));
            (void)!write(1, msg, strlen(msg));
            _exit(127);
        }
        close_range(4, ~0u, 0);
        struct rlimit fs = {16u << 20, 16u << 20}, core = {0, 0};
        setrlimit(RLIMIT_FSIZE, &fs);
        setrlimit(RLIMIT_CORE, &core);
        if (chdir(rundir)) _exit(127);
        if (sandbox_enter(path, model, exec_path, worker_data_limit((uint64_t)st.st_size), msg, sizeof msg - 8)) {
            char line[600];
            snprintf(line, sizeof line, "e 1 %s\n", msg);
            (void)!write(1, line, strlen(line));
            _exit(127);
        }
        char *const argv[] = {"worker", "/proc/self/fd/3", NULL};
        char *const envp[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", "HOME=/nonexistent", NULL};
        execve(exec_path, argv, envp);
        _exit(127);
    }
    setpgid(pid, pid); /* both sides set it: no race with the first kill */
    running_group = pid;
    close(in[0]);
    close(out[1]);
    signal(SIGPIPE, SIG_IGN);
    w->pid = pid;
    w->to = in[1];
    w->from = out[0];
    return 0;
}

/* more bytes into buf, waiting until deadline */
static int fill(worker *w, double deadline) {
    if (w->pos > 0) {
        memmove(w->buf, w->buf + w->pos, w->len - w->pos);
        w->len -= w->pos;
        w->pos = 0;
    }
    if (w->len == sizeof w->buf) return -1; /* a line longer than the buffer */
    for (;;) {
        double left = deadline - now_s();
        if (left <= 0) return -2;
        struct pollfd p = {w->from, POLLIN, 0};
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) continue;
        if (r < 0) return -1;
        ssize_t n = read(w->from, w->buf + w->len, sizeof w->buf - w->len);
        if (n < 0 && errno == EINTR) continue;
        w->stamp = now_s();
        if (n <= 0) return -1;
        w->len += (size_t)n;
        return 0;
    }
}

int worker_line(worker *w, char *line, size_t cap, double *t, double deadline) {
    for (;;) {
        char *nl = memchr(w->buf + w->pos, '\n', w->len - w->pos);
        if (nl) {
            size_t n = (size_t)(nl - (w->buf + w->pos));
            if (n >= cap) return -1;
            memcpy(line, w->buf + w->pos, n);
            line[n] = 0;
            w->pos += n + 1;
            if (t) *t = w->stamp;
            return 0;
        }
        int r = fill(w, deadline);
        if (r) return r;
    }
}

int worker_bytes(worker *w, void *dst, size_t n, double deadline) {
    char *d = dst;
    while (n) {
        if (w->pos == w->len) {
            int r = fill(w, deadline);
            if (r) return r;
        }
        size_t k = w->len - w->pos < n ? w->len - w->pos : n;
        memcpy(d, w->buf + w->pos, k);
        w->pos += k;
        d += k;
        n -= k;
    }
    return 0;
}

int worker_send(worker *w, const void *buf, size_t n) {
    const char *p = buf;
    while (n) {
        ssize_t k = write(w->to, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int worker_stop(worker *w, double grace_s) {
    if (w->pid <= 0 || w->reaped) return w->status;
    if (w->to >= 0) {
        (void)!write(w->to, "Q\n", 2);
        close(w->to);
        w->to = -1;
    }
    double end = now_s() + grace_s;
    int st = 0;
    pid_t r = 0;
    while ((r = wait4(w->pid, &st, WNOHANG, &w->ru)) == 0 && now_s() < end) usleep(2000);
    kill(-w->pid, SIGKILL); /* whatever it started goes too */
    running_group = 0;
    if (r == 0) r = wait4(w->pid, &st, 0, &w->ru);
    if (w->from >= 0) close(w->from);
    w->from = -1;
    w->reaped = 1;
    w->status = st;
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS) snprintf(sandbox_killed, sizeof sandbox_killed, "%s", w->exe);
    return st;
}
