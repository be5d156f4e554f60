/* A hostile worker for test_sandbox: reads one action from stdin (in a
 * constructor, before main, when the line starts with "ctor "), tries it, and
 * answers "ok ..." or "fail ERRNO". Built static, like the gate's worker. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char action[512];
static int done;

static void say(const char *fmt, long v, const char *s) {
    char b[600];
    int n = snprintf(b, sizeof b, fmt, v, s);
    (void)!write(1, b, (size_t)n);
}

static void *thread_fn(void *arg) { return arg; }

static void act(const char *a) {
    const char *arg = strchr(a, ' ') ? strchr(a, ' ') + 1 : "";
    int r = -1;
    if (!strncmp(a, "read-model", 10)) {
        char m[4] = {0};
        int fd = open("/proc/self/fd/3", O_RDONLY);
        if (fd >= 0 && read(fd, m, 4) == 4) { say("ok %ld %.4s\n", 0, m); return; }
    } else if (!strncmp(a, "read ", 5)) {
        int fd = open(arg, O_RDONLY);
        char c;
        if (fd >= 0 && read(fd, &c, 1) == 1) r = 0;
    } else if (!strncmp(a, "write ", 6)) {
        int fd = open(arg, O_WRONLY | O_APPEND);
        if (fd >= 0 && write(fd, "pwned\n", 6) == 6) r = 0;
    } else if (!strncmp(a, "create ", 7)) {
        r = open(arg, O_WRONLY | O_CREAT | O_TRUNC, 0644) >= 0 ? 0 : -1;
    } else if (!strncmp(a, "unlink ", 7)) {
        r = unlink(arg);
    } else if (!strncmp(a, "exec ", 5)) {
        char *argv[] = {(char *)arg, "--version", NULL};
        r = execv(arg, argv);
    } else if (!strcmp(a, "socket")) {
        r = socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : -1;
    } else if (!strcmp(a, "fork")) {
        pid_t p = fork(); /* a helper that would outlive the run */
        if (p == 0) { setsid(); for (;;) sleep(1); }
        r = p > 0 ? 0 : -1;
    } else if (!strcmp(a, "threads")) {
        pthread_t t[2];
        r = pthread_create(&t[0], NULL, thread_fn, NULL) || pthread_create(&t[1], NULL, thread_fn, NULL) ||
            pthread_join(t[0], NULL) || pthread_join(t[1], NULL);
    } else if (!strcmp(a, "nice")) {
        r = setpriority(PRIO_PROCESS, 0, 10);
    } else if (!strcmp(a, "affinity")) {
        cpu_set_t s;
        CPU_ZERO(&s);
        CPU_SET(0, &s);
        r = sched_setaffinity(0, sizeof s, &s);
    } else if (!strcmp(a, "mempolicy")) {
        r = (int)syscall(SYS_set_mempolicy, 0, NULL, 0);
    } else if (!strcmp(a, "signal-parent")) {
        r = kill(getppid(), SIGCONT);
    } else if (!strcmp(a, "exec-memory")) {
        r = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? -1 : 0;
    } else if (!strcmp(a, "alloc")) {
        long mib = 0; /* reserve, never touch: the limit is on the mapping */
        while (malloc(64u << 20)) mib += 64;
        say("ok %ld MiB\n", mib, "");
        return;
    } else if (!strcmp(a, "whoami")) {
        say("ok %ld %s\n", (long)getuid(), "");
        return;
    } else if (!strcmp(a, "hang")) {
        for (volatile int spin = 1; spin;) {}
    } else if (!strcmp(a, "flood")) {
        static char x[4096];
        memset(x, 'x', sizeof x);
        for (;;) (void)!write(1, x, sizeof x);
    } else {
        say("fail %ld unknown action %s\n", 0, a);
        return;
    }
    if (r) say("fail %ld %s\n", errno, strerror(errno));
    else say("ok %ld %s\n", 0, "");
}

__attribute__((constructor)) static void early(void) {
    size_t n = 0;
    char c;
    while (n + 1 < sizeof action && read(0, &c, 1) == 1 && c != '\n') action[n++] = c;
    action[n] = 0;
    if (!strncmp(action, "ctor ", 5)) { act(action + 5); done = 1; }
}

int main(void) {
    if (!done) act(action);
    return 0;
}
