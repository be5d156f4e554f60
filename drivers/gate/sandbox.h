/* The box a worker runs in. The worker is built from the tree under test, so
 * it may run code an agent wrote; it may read its model and the few system
 * files the library reads, talk to the judge over the pipes it was given,
 * and nothing else:
 *   - run as an unprivileged user (uid/gid 65534) when the judge is root;
 *   - no new privileges;
 *   - Landlock: no file written, created, removed or executed anywhere, read
 *     only the model, the worker itself, /proc/cpuinfo and
 *     /sys/devices/system/cpu; no TCP; no signals or abstract sockets out of
 *     the box (as far as the kernel's Landlock ABI offers);
 *   - seccomp: an allow-list of the system calls inference needs; anything
 *     else (a socket, a fork, an exec of another program, a file opened for
 *     writing, executable memory, scheduling, priority or memory policy)
 *     kills the worker with SIGSYS, which the judge reports;
 *   - limits: data memory (RLIMIT_DATA), open files, core dumps, file size.
 * Where the kernel lacks Landlock or seccomp, the gate says so and runs
 * without that layer. */
#ifndef QINFER_GATE_SANDBOX_H
#define QINFER_GATE_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

/* what this kernel offers, in words, for the judge's progress line; returns
 * the Landlock ABI (0: none) */
int sandbox_describe(char *msg, size_t n);
/* 1 if this kernel lets a process install a seccomp filter */
int sandbox_has_seccomp(void);

/* which layers the next workers get (both by default; only the sandbox's
 * own tests turn one off, to see what each layer stops by itself) */
void sandbox_set_layers(int landlock, int seccomp);

/* In the forked child, before execve(exec_path, ...): exe is the worker file,
 * model the model file (opened by the caller as fd 3 already), data_limit
 * the bytes of private memory the worker may map. exec_path must be the very
 * pointer passed to execve: the filter lets exactly that exec through.
 * Async-signal-safe (no allocation): the judge has threads. 0, or -1 with
 * the reason in msg. */
int sandbox_enter(const char *exe, const char *model, const char *exec_path, uint64_t data_limit, char *msg, size_t n);

#endif
