/* The worker's box; see sandbox.h. Everything after fork is done with
 * system calls and stack buffers only. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define NOBODY 65534

/* ---- Landlock, declared here: the C library's headers may predate the ABI --------------- */

#define LL_CREATE_RULESET 444
#define LL_ADD_RULE 445
#define LL_RESTRICT_SELF 446
#define LL_RULESET_VERSION 1u
#define LL_RULE_PATH_BENEATH 1

#define FS_EXECUTE (1ull << 0)
#define FS_READ_FILE (1ull << 2)
#define FS_READ_DIR (1ull << 3)
#define FS_ABI1 ((1ull << 13) - 1) /* execute .. make_sym */
#define FS_REFER (1ull << 13)      /* ABI 2 */
#define FS_TRUNCATE (1ull << 14)   /* ABI 3 */
#define FS_IOCTL_DEV (1ull << 15)  /* ABI 5 */
#define NET_TCP 3ull               /* bind, connect: ABI 4 */
#define SCOPE_ALL 3ull             /* abstract unix sockets, signals: ABI 6 */

struct ll_ruleset_attr {
    uint64_t handled_access_fs, handled_access_net, scoped;
};
struct ll_path_beneath {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

static int use_landlock = 1, use_seccomp = 1;

void sandbox_set_layers(int landlock, int seccomp) {
    use_landlock = landlock;
    use_seccomp = seccomp;
}

static int landlock_abi(void) {
    long abi = syscall(LL_CREATE_RULESET, NULL, 0, LL_RULESET_VERSION);
    return abi < 0 ? 0 : (int)abi;
}

static int seccomp_available(void) {
    return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
}

int sandbox_has_seccomp(void) { return seccomp_available(); }

int sandbox_describe(char *msg, size_t n) {
    int abi = use_landlock ? landlock_abi() : 0;
    int sc = use_seccomp && seccomp_available();
    char ll[64];
    if (abi) snprintf(ll, sizeof ll, "Landlock ABI %d", abi);
    else snprintf(ll, sizeof ll, "no Landlock (%s)", use_landlock ? "this kernel has none" : "turned off");
    snprintf(msg, n, "%s, %s, %s, memory limit", ll, sc ? "seccomp allow-list" : "no seccomp filter",
             geteuid() == 0 ? "as uid 65534" : "as the caller's user");
    return abi;
}

/* ---- small helpers that cannot allocate -------------------------------------------------- */

static int fail(char *msg, size_t n, const char *what, int err) {
    snprintf(msg, n, "sandbox: %s: %s", what, strerror(err));
    return -1;
}

/* the files the worker may read, opened (O_PATH) while the caller's rights
 * still reach them: a model in a folder only root may list works */
enum { R_EXE, R_MODEL, R_CPUINFO, R_CPUS, N_RULES };
static const uint64_t rule_access[N_RULES] = {FS_EXECUTE | FS_READ_FILE, FS_READ_FILE, FS_READ_FILE,
                                              FS_READ_FILE | FS_READ_DIR};

static void close_rules(int *fd) {
    for (int i = 0; i < N_RULES; i++)
        if (fd[i] >= 0) close(fd[i]);
}

static int enter_landlock(const int *fd, char *msg, size_t n) {
    int abi = landlock_abi();
    if (!abi) return 0; /* said once by the judge */
    struct ll_ruleset_attr attr = {FS_ABI1, 0, 0};
    size_t size = sizeof attr.handled_access_fs;
    if (abi >= 2) attr.handled_access_fs |= FS_REFER;
    if (abi >= 3) attr.handled_access_fs |= FS_TRUNCATE;
    if (abi >= 4) attr.handled_access_net = NET_TCP, size = 2 * sizeof(uint64_t);
    if (abi >= 5) attr.handled_access_fs |= FS_IOCTL_DEV;
    if (abi >= 6) attr.scoped = SCOPE_ALL, size = sizeof attr;
    int rs = (int)syscall(LL_CREATE_RULESET, &attr, size, 0);
    if (rs < 0) return fail(msg, n, "landlock_create_ruleset", errno);
    for (int i = 0; i < N_RULES; i++) {
        if (fd[i] < 0) continue; /* a system file this kernel lacks: nothing to allow */
        struct ll_path_beneath pb = {rule_access[i], fd[i]};
        if (syscall(LL_ADD_RULE, rs, LL_RULE_PATH_BENEATH, &pb, 0)) {
            int e = errno;
            close(rs);
            return fail(msg, n, "landlock_add_rule", e);
        }
    }
    if (syscall(LL_RESTRICT_SELF, rs, 0)) {
        int e = errno;
        close(rs);
        return fail(msg, n, "landlock_restrict_self", e);
    }
    close(rs);
    return 0;
}

/* ---- the seccomp allow-list ---------------------------------------------------------------- */

#if defined(__x86_64__)
#define ARCH_NR AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH_NR AUDIT_ARCH_AARCH64
#endif

#define KILL SECCOMP_RET_KILL_PROCESS
#define ALLOW SECCOMP_RET_ALLOW
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define ARG_HI(i) (ARG_LO(i) + 4)

typedef struct prog {
    struct sock_filter f[256];
    int n;
} prog;

static void op(prog *p, unsigned short code, unsigned k, unsigned char jt, unsigned char jf) {
    if (p->n < 256) p->f[p->n] = (struct sock_filter){code, jt, jf, k};
    p->n++;
}
static void ret(prog *p, unsigned k) { op(p, BPF_RET | BPF_K, k, 0, 0); }
static void load(prog *p, unsigned off) { op(p, BPF_LD | BPF_W | BPF_ABS, off, 0, 0); }
/* nr -> action; A holds nr before and after */
static void nr_ret(prog *p, long nr, unsigned action) {
    op(p, BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1);
    ret(p, action);
}
/* nr allowed when (arg & mask) == 0, else killed */
static void nr_mask_clear(prog *p, long nr, int arg, unsigned mask) {
    op(p, BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 4);
    load(p, ARG_LO(arg));
    op(p, BPF_JMP | BPF_JSET | BPF_K, mask, 0, 1);
    ret(p, KILL);
    ret(p, ALLOW);
}
/* nr allowed when arg has every bit of mask, else killed */
static void nr_mask_set(prog *p, long nr, int arg, unsigned mask) {
    op(p, BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 5);
    load(p, ARG_LO(arg));
    op(p, BPF_ALU | BPF_AND | BPF_K, mask, 0, 0);
    op(p, BPF_JMP | BPF_JEQ | BPF_K, mask, 0, 1);
    ret(p, ALLOW);
    ret(p, KILL);
}
/* nr allowed when the 64-bit arg equals v (only the low half when low_only) */
static void nr_arg_eq(prog *p, long nr, int arg, uint64_t v, int low_only) {
    op(p, BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, low_only ? 4 : 6);
    load(p, ARG_LO(arg));
    op(p, BPF_JMP | BPF_JEQ | BPF_K, (unsigned)v, 0, low_only ? 1 : 3);
    if (!low_only) {
        load(p, ARG_HI(arg));
        op(p, BPF_JMP | BPF_JEQ | BPF_K, (unsigned)(v >> 32), 0, 1);
    }
    ret(p, ALLOW);
    ret(p, KILL);
}

/* what inference needs (traced on the worker: load, threads, generation) */
static const long allowed[] = {
    SYS_read, SYS_write, SYS_writev, SYS_close, SYS_lseek, SYS_pread64, SYS_fstat, SYS_newfstatat,
#ifdef SYS_statx
    SYS_statx,
#endif
#ifdef SYS_readlink
    SYS_readlink,
#endif
    SYS_readlinkat, SYS_fcntl, SYS_munmap, SYS_mremap, SYS_madvise, SYS_brk, SYS_futex,
    SYS_set_robust_list, SYS_get_robust_list, SYS_set_tid_address,
#ifdef SYS_rseq
    SYS_rseq,
#endif
#ifdef SYS_arch_prctl
    SYS_arch_prctl,
#endif
    SYS_getrandom, SYS_exit, SYS_exit_group, SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_rt_sigreturn,
    SYS_sigaltstack, SYS_getpid, SYS_gettid, SYS_getppid, SYS_getuid, SYS_geteuid, SYS_getgid, SYS_getegid,
    SYS_sched_yield, SYS_sched_getaffinity, SYS_nanosleep, SYS_clock_nanosleep, SYS_clock_gettime,
    SYS_clock_getres, SYS_gettimeofday, SYS_uname, SYS_getrusage, SYS_sysinfo, SYS_restart_syscall,
#ifdef SYS_membarrier
    SYS_membarrier,
#endif
};

static int enter_seccomp(const char *exec_path, char *msg, size_t n) {
    prog p;
    p.n = 0;
    load(&p, offsetof(struct seccomp_data, arch));
    op(&p, BPF_JMP | BPF_JEQ | BPF_K, ARCH_NR, 1, 0);
    ret(&p, KILL);
    load(&p, offsetof(struct seccomp_data, nr));
#ifdef __x86_64__
    op(&p, BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1); /* the x32 calls */
    ret(&p, KILL);
#endif
    for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++) nr_ret(&p, allowed[i], ALLOW);
    /* glibc tries clone3 first and falls back to clone, whose flags a filter can read */
#ifdef SYS_clone3
    nr_ret(&p, SYS_clone3, SECCOMP_RET_ERRNO | ENOSYS);
#endif
    nr_mask_set(&p, SYS_clone, 0, CLONE_THREAD | CLONE_VM);
    /* files: read only; Landlock says which */
    const unsigned writes = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_TMPFILE;
    nr_mask_clear(&p, SYS_openat, 2, writes);
#ifdef SYS_open
    nr_mask_clear(&p, SYS_open, 1, writes);
#endif
#ifdef SYS_openat2
    nr_ret(&p, SYS_openat2, SECCOMP_RET_ERRNO | ENOSYS); /* its flags sit behind a pointer */
#endif
    /* no executable memory: no code but the worker's own */
    nr_mask_clear(&p, SYS_mmap, 2, PROT_EXEC);
    nr_mask_clear(&p, SYS_mprotect, 2, PROT_EXEC);
    /* signals to itself only; limits read, never set */
    pid_t self = getpid();
    nr_arg_eq(&p, SYS_tgkill, 0, (uint64_t)self, 1);
    nr_arg_eq(&p, SYS_kill, 0, (uint64_t)self, 1);
    nr_arg_eq(&p, SYS_prlimit64, 2, 0, 0);
    nr_arg_eq(&p, SYS_ioctl, 1, TCGETS, 1); /* isatty */
    /* this one exec, of the worker */
    nr_arg_eq(&p, SYS_execve, 0, (uint64_t)(uintptr_t)exec_path, 0);
    ret(&p, KILL);
    if (p.n > 256) { snprintf(msg, n, "sandbox: the filter has %d instructions, more than 256", p.n); return -1; }
    struct sock_fprog fp = {(unsigned short)p.n, p.f};
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp, 0, 0)) return fail(msg, n, "seccomp", errno);
    return 0;
}

int sandbox_enter(const char *exe, const char *model, const char *exec_path, uint64_t data_limit, char *msg, size_t n) {
    int fd[N_RULES];
    const char *path[N_RULES] = {exe, model, "/proc/cpuinfo", "/sys/devices/system/cpu"};
    for (int i = 0; i < N_RULES; i++) {
        fd[i] = use_landlock ? open(path[i], O_PATH | O_CLOEXEC) : -1;
        if (fd[i] < 0 && i < R_CPUINFO && use_landlock) {
            int e = errno;
            close_rules(fd);
            return fail(msg, n, path[i], e);
        }
    }
    int rc = -1;
    if (geteuid() == 0) {
        /* root keeps nothing: no groups, the unprivileged user's ids, no capabilities */
        if (setgroups(0, NULL)) { fail(msg, n, "setgroups", errno); goto out; }
        if (setresgid(NOBODY, NOBODY, NOBODY)) { fail(msg, n, "setresgid", errno); goto out; }
        if (setresuid(NOBODY, NOBODY, NOBODY)) { fail(msg, n, "setresuid", errno); goto out; }
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) { fail(msg, n, "no_new_privs", errno); goto out; }
    if (use_landlock && enter_landlock(fd, msg, n)) goto out;
    struct rlimit data = {data_limit, data_limit}, files = {64, 64};
    if (setrlimit(RLIMIT_DATA, &data)) { fail(msg, n, "RLIMIT_DATA", errno); goto out; }
    if (setrlimit(RLIMIT_NOFILE, &files)) { fail(msg, n, "RLIMIT_NOFILE", errno); goto out; }
    close_rules(fd);
    for (int i = 0; i < N_RULES; i++) fd[i] = -1;
    if (use_seccomp && seccomp_available() && enter_seccomp(exec_path, msg, n)) goto out;
    rc = 0;
out:
    close_rules(fd);
    return rc;
}
