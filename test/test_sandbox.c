/* The gate's worker sandbox (drivers/gate/sandbox.c), through the runner
 * that starts every worker: a hostile program (test/sandbox_probe.c) tries,
 * from main and from a constructor, what a candidate's sample.c might try.
 * Every attempt must fail, leave the files it aimed at unchanged, and be
 * seen: the seccomp layer kills with SIGSYS, which the runner records; the
 * Landlock layer (checked with seccomp off) refuses with EACCES. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../drivers/gate/runner.h"
#include "../drivers/gate/sandbox.h"
#include "test.h"

static char probe[4096], model[4096], dir[64], rundir[128], victim[160], newfile[160];
static int landlock;

static const char victim_text[] = "commit\tstatus\nabc\tkeep\n";

static int victim_intact(void) {
    char b[256] = {0};
    int fd = open(victim, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, b, sizeof b - 1) : -1;
    if (fd >= 0) close(fd);
    return n == (ssize_t)strlen(victim_text) && !strcmp(b, victim_text);
}

/* run one action; line gets the probe's answer ("" if none); returns the wait status */
static int attempt(const char *action, char *line, size_t cap, double deadline_s) {
    worker w;
    char err[512];
    line[0] = 0;
    if (worker_start(&w, probe, rundir, model, err, sizeof err)) {
        snprintf(line, cap, "start: %.200s", err);
        return -1;
    }
    char msg[600];
    snprintf(msg, sizeof msg, "%s\n", action);
    worker_send(&w, msg, strlen(msg));
    if (worker_line(&w, line, cap, NULL, now_s() + deadline_s)) line[0] = 0;
    return worker_stop(&w, 0.5);
}

static int killed(int st) { return st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS; }

static void allowed_work_runs(void) {
    sandbox_set_layers(1, 1);
    char line[256];
    int st = attempt("read-model", line, sizeof line, 10);
    CHECK(!strcmp(line, "ok 0 GGUF"), "read-model: '%s'", line);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
    st = attempt("threads", line, sizeof line, 10);
    CHECK(!strncmp(line, "ok", 2) && WIFEXITED(st), "threads: '%s' status %d", line, st);
    st = attempt("whoami", line, sizeof line, 10);
    char want[32];
    snprintf(want, sizeof want, "ok %d ", geteuid() == 0 ? 65534 : (int)geteuid());
    CHECK(!strcmp(line, want), "whoami: '%s', want '%s' (root's worker runs as nobody)", line, want);
    st = attempt("ctor read-model", line, sizeof line, 10);
    CHECK(!strcmp(line, "ok 0 GGUF"), "from a constructor: '%s'", line);
}

/* what seccomp kills, from main and from a constructor */
static void forbidden_calls_are_killed(void) {
    sandbox_set_layers(1, 1);
    char line[256];
    const char *acts[] = {"write %s", "create %s", "unlink %s", "exec /usr/bin/git", "socket", "fork", "nice",
                          "affinity", "mempolicy", "signal-parent", "exec-memory"};
    for (int ctor = 0; ctor < 2; ctor++)
        for (size_t i = 0; i < sizeof acts / sizeof *acts; i++) {
            char act[400];
            int k = snprintf(act, sizeof act, "%s", ctor ? "ctor " : "");
            snprintf(act + k, sizeof act - k, acts[i], i == 1 ? newfile : victim);
            int st = attempt(act, line, sizeof line, 10);
            CHECK(killed(st), "%s: status %d, answer '%s'", act, st, line);
            CHECK(!line[0], "%s: it answered '%s'", act, line);
            CHECK(runner_sandbox_killed() && !strcmp(strrchr(runner_sandbox_killed(), '/') + 1, "sandbox_probe"),
                  "%s: the runner did not record the kill", act);
            CHECK(victim_intact(), "%s: results.tsv changed", act);
            CHECK(access(newfile, F_OK) != 0, "%s: a file was created", act);
        }
}

/* with seccomp off, Landlock alone still refuses files and programs */
static void landlock_refuses_files(void) {
    sandbox_set_layers(1, 0);
    char line[256], act[300];
    snprintf(act, sizeof act, "write %s", victim);
    attempt(act, line, sizeof line, 10);
    CHECK(!strncmp(line, "fail 13 ", 8), "%s: '%s'", act, line);
    snprintf(act, sizeof act, "create %s", newfile);
    attempt(act, line, sizeof line, 10);
    CHECK(!strncmp(line, "fail 13 ", 8), "%s: '%s'", act, line);
    attempt("ctor exec /usr/bin/git", line, sizeof line, 10);
    CHECK(!strncmp(line, "fail 13 ", 8), "exec: '%s'", line);
    attempt("read /etc/passwd", line, sizeof line, 10);
    CHECK(!strncmp(line, "fail 13 ", 8), "read /etc/passwd: '%s'", line);
    attempt("read-model", line, sizeof line, 10);
    CHECK(!strcmp(line, "ok 0 GGUF"), "read-model: '%s'", line);
    CHECK(victim_intact() && access(newfile, F_OK) != 0, "files changed");
    sandbox_set_layers(1, 1);
    attempt("read /etc/passwd", line, sizeof line, 10); /* a read is not killed: refused */
    CHECK(!strncmp(line, "fail 13 ", 8), "both layers, read /etc/passwd: '%s'", line);
}

/* a worker that grabs memory, hangs or floods its pipe is stopped */
static void limits_hold(void) {
    sandbox_set_layers(1, 1);
    char line[256];
    struct stat st;
    stat(model, &st);
    double limit_mib = (double)worker_data_limit((uint64_t)st.st_size) / (1 << 20);
    attempt("alloc", line, sizeof line, 20);
    double got = strncmp(line, "ok ", 3) ? -1 : atof(line + 3);
    CHECK(got > 0 && got <= limit_mib && got > limit_mib - 200, "alloc: '%s', limit %.0f MiB", line, limit_mib);

    worker w;
    char err[256];
    CHECK(!worker_start(&w, probe, rundir, model, err, sizeof err), "%s", err);
    worker_send(&w, "hang\n", 5);
    double t0 = now_s();
    int r = worker_line(&w, line, sizeof line, NULL, t0 + 1.0);
    int s = worker_stop(&w, 0.2);
    double took = now_s() - t0;
    CHECK(r == -2, "hang: worker_line %d", r);
    CHECK(WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL && took < 3.0, "hang: status %d after %.1f s", s, took);

    CHECK(!worker_start(&w, probe, rundir, model, err, sizeof err), "%s", err);
    worker_send(&w, "flood\n", 6);
    t0 = now_s();
    r = worker_line(&w, line, sizeof line, NULL, t0 + 10.0);
    s = worker_stop(&w, 0.2);
    took = now_s() - t0;
    CHECK(r == -1 && took < 3.0, "flood: worker_line %d after %.1f s", r, took);
    CHECK(WIFSIGNALED(s), "flood: status %d", s);
}

int main(int argc, char **argv) {
    (void)argc;
    if (emulated()) {
        SKIP(sandbox, "seccomp and Landlock act on qemu's own system calls, not the program's");
        return TEST_EXIT();
    }
    snprintf(probe, sizeof probe, "%s", argv[0]);
    char *slash = strrchr(probe, '/');
    snprintf(slash ? slash + 1 : probe, sizeof probe - (size_t)(slash ? slash + 1 - probe : 0), "sandbox_probe");
    if (!realpath("data/tiny-chat/tiny-chat-q8_0.gguf", model)) { printf("no tiny model\n"); return 1; }
    snprintf(dir, sizeof dir, "/tmp/qinfer-sandbox-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    snprintf(rundir, sizeof rundir, "%s/run", dir);
    mkdir(rundir, 0755);
    chmod(dir, 0755);
    snprintf(victim, sizeof victim, "%s/results.tsv", dir);
    snprintf(newfile, sizeof newfile, "%s/new.txt", dir);
    int fd = open(victim, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    (void)!write(fd, victim_text, strlen(victim_text));
    close(fd);
    chmod(victim, 0666); /* writable by anyone: only the sandbox stands in the way */
    chmod(dir, 0777);

    char box[256];
    landlock = sandbox_describe(box, sizeof box);
    printf("sandbox: %s\n", box);
    RUN(allowed_work_runs);
    if (sandbox_has_seccomp()) RUN(forbidden_calls_are_killed);
    else SKIP(forbidden_calls_are_killed, "this kernel has no seccomp filters");
    if (landlock) RUN(landlock_refuses_files);
    else SKIP(landlock_refuses_files, "this kernel has no Landlock");
    RUN(limits_hold);

    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    (void)!system(cmd);
    return TEST_EXIT();
}
