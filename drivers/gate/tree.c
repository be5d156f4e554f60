/* Trees, revisions and worker builds; see tree.h. */
#include "tree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfgfile.h"
#include "objcheck.h"
#include "sha256.h"
#include "util.h"

int run_cmd(char *const argv[], const char *cwd, char *out, size_t cap, const char *errlog) {
    int p[2];
    if (pipe(p)) return -1;
    pid_t pid = fork();
    if (pid < 0) { close(p[0]); close(p[1]); return -1; }
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        int e = errlog ? open(errlog, O_WRONLY | O_CREAT | O_APPEND, 0644) : open("/dev/null", O_WRONLY);
        if (e >= 0) dup2(e, 2);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) dup2(nul, 0);
        if (cwd && chdir(cwd)) _exit(127);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    size_t n = 0;
    char sink[4096];
    for (;;) {
        char *dst = out && n + 1 < cap ? out + n : sink;
        size_t room = out && n + 1 < cap ? cap - 1 - n : sizeof sink;
        ssize_t r = read(p[0], dst, room);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (dst != sink) n += (size_t)r;
    }
    close(p[0]);
    if (out && cap) out[n] = 0;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int editable(const char *path) { return !strcmp(path, EDIT_SAMPLE) || !strcmp(path, EDIT_CONFIG); }

/* "git diff --name-status" output: only M of the two files */
static int check_name_status(char *out, char *why, size_t why_size) {
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        char *path = tab + 1, *tab2 = strchr(path, '\t');
        if (tab2) path = tab2 + 1; /* renames: the new name */
        if (line[0] != 'M' || tab2 || !editable(path)) {
            const char *kind = line[0] == 'A' ? "added" : line[0] == 'D' ? "deleted" : line[0] == 'R' ? "renamed"
                             : line[0] == 'C' ? "copied" : line[0] == 'T' ? "changed type" : "modified";
            snprintf(why, why_size, "%s %s: only %s and %s may differ from the anchor", path, kind, EDIT_SAMPLE, EDIT_CONFIG);
            return -1;
        }
    }
    return 0;
}

int check_tree(const char *repo, const char *anchor, const char *anchor_root, char *why, size_t why_size) {
    static char out[1 << 20];
    char *diff[] = {"git", "-C", (char *)repo, "diff", "--no-renames", "--name-status", (char *)anchor, "--", NULL};
    if (run_cmd(diff, NULL, out, sizeof out, NULL)) { snprintf(why, why_size, "git diff against the anchor failed"); return -1; }
    if (check_name_status(out, why, why_size)) return -1;
    /* untracked files, judged by the anchor's .gitignore alone (not by the
     * tree's, nor by .git/info/exclude) */
    char ignore[4200];
    snprintf(ignore, sizeof ignore, "--exclude-from=%s/.gitignore", anchor_root);
    char *others[] = {"git", "-C", (char *)repo, "ls-files", "--others", ignore, NULL};
    if (run_cmd(others, NULL, out, sizeof out, NULL)) { snprintf(why, why_size, "git ls-files failed"); return -1; }
    char *first = strtok(out, "\n");
    if (first) {
        snprintf(why, why_size, "untracked file %s: only %s and %s may differ from the anchor", first, EDIT_SAMPLE, EDIT_CONFIG);
        return -1;
    }
    return 0;
}

int check_commit(const char *repo, const char *anchor, const char *rev, char *why, size_t why_size) {
    static char out[1 << 20];
    char *diff[] = {"git", "-C", (char *)repo, "diff", "--no-renames", "--name-status", (char *)anchor, (char *)rev, "--", NULL};
    if (run_cmd(diff, NULL, out, sizeof out, NULL)) { snprintf(why, why_size, "git diff %s %s failed", anchor, rev); return -1; }
    return check_name_status(out, why, why_size);
}

char *rev_file(const char *repo, const char *rev, const char *path) {
    char p[4200];
    if (!strcmp(rev, "WORKTREE")) {
        snprintf(p, sizeof p, "%s/%s", repo, path);
        return read_file(p, 1u << 24, NULL);
    }
    static char out[1 << 20];
    snprintf(p, sizeof p, "%s:%s", rev, path);
    char *show[] = {"git", "-C", (char *)repo, "show", p, NULL};
    if (run_cmd(show, NULL, out, sizeof out, NULL)) return NULL;
    return strdup(out);
}

static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = strlen(text);
    int rc = fwrite(text, 1, n, f) == n ? 0 : -1;
    if (fclose(f)) rc = -1;
    return rc;
}

static void rm_rf(const char *dir) {
    char *rm[] = {"rm", "-rf", (char *)dir, NULL};
    run_cmd(rm, NULL, NULL, 0, NULL);
}

int build_worker(const char *repo, const char *anchor, const char *anchor_root, const char *cache, const char *sample,
                 const char *config, int code_checks, char *exe, size_t exe_size, char *log, size_t log_size, char *why,
                 size_t why_size) {
    sha256_ctx h;
    sha256_init(&h);
    const char *mode = code_checks ? "checked" : "unchecked"; /* never reuse an unchecked build */
    sha256_update(&h, mode, strlen(mode) + 1);
    sha256_update(&h, anchor, strlen(anchor) + 1);
    sha256_update(&h, sample, strlen(sample) + 1);
    sha256_update(&h, config, strlen(config) + 1);
    char key[65];
    sha256_hex(&h, key);
    char dir[4200], tmp[4300];
    snprintf(dir, sizeof dir, "%s/build-%.16s", cache, key);
    snprintf(exe, exe_size, "%s/worker", dir);
    snprintf(log, log_size, "%s/build-%.16s.log", cache, key);
    if (access(exe, X_OK) == 0) return 0;

    /* the knob file: one initializer of literals */
    cfg_file cf;
    if (cfg_parse_text(config, &cf, why, why_size)) return -2;
    cfg_free(&cf);

    snprintf(tmp, sizeof tmp, "%s/tmp-build-%d", cache, (int)getpid());
    rm_rf(tmp);
    if (mkdir(tmp, 0755)) { snprintf(why, why_size, "mkdir %s: %s", tmp, strerror(errno)); return -3; }
    unlink(log);
    char tarp[4400];
    snprintf(tarp, sizeof tarp, "%s/src.tar", tmp);
    char *archive[] = {"git", "-C", (char *)repo, "archive", "-o", tarp, (char *)anchor, NULL};
    char *untar[] = {"tar", "-xf", "src.tar", NULL};
    if (run_cmd(archive, NULL, NULL, 0, log) || run_cmd(untar, tmp, NULL, 0, log)) {
        snprintf(why, why_size, "cannot export the anchor %s", anchor);
        rm_rf(tmp);
        return -3;
    }
    unlink(tarp);
    /* the anchor's objects: only the two files (and what links them) rebuild;
     * they come from the judge's own build of the anchor, never from a tree
     * under test */
    char anchor_build[4300];
    snprintf(anchor_build, sizeof anchor_build, "%s/build", anchor_root);
    if (access(anchor_build, F_OK) == 0) {
        char *cp[] = {"cp", "-a", anchor_build, tmp, NULL};
        run_cmd(cp, NULL, NULL, 0, log);
    }
    char p[4500];
    snprintf(p, sizeof p, "%s/%s", tmp, EDIT_SAMPLE);
    int rc = write_file(p, sample);
    snprintf(p, sizeof p, "%s/%s", tmp, EDIT_CONFIG);
    rc |= write_file(p, config);
    if (rc) { snprintf(why, why_size, "cannot write the candidate's files"); rm_rf(tmp); return -3; }

    /* sample.c: source, preprocessed source, object; before anything links it */
    snprintf(p, sizeof p, "%s/%s", tmp, EDIT_SAMPLE);
    if (code_checks && check_sample_source(p, why, why_size)) { rm_rf(tmp); return -2; }
    char *pp[] = {"make", "-s", "build/native/lib/sample.i", "build/native/lib/sample.o", NULL};
    if (run_cmd(pp, tmp, NULL, 0, log)) {
        snprintf(why, why_size, "sample.c does not compile (log: %s)", log);
        rm_rf(tmp);
        return -3;
    }
    snprintf(p, sizeof p, "%s/build/native/lib/sample.i", tmp);
    if (code_checks && check_sample_preprocessed(p, EDIT_SAMPLE, why, why_size)) { rm_rf(tmp); return -2; }
    char anchor_o[4200];
    snprintf(p, sizeof p, "%s/build/native/lib/sample.o", tmp);
    snprintf(anchor_o, sizeof anchor_o, "%s/build/native/lib/sample.o", anchor_root);
    if (code_checks && check_sample_object(p, anchor_o, why, why_size)) { rm_rf(tmp); return -2; }

    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    char jobs[32];
    snprintf(jobs, sizeof jobs, "-j%ld", cores > 0 ? cores : 1);
    char *mk[] = {"make", "-s", jobs, "worker", NULL};
    if (run_cmd(mk, tmp, NULL, 0, log)) {
        snprintf(why, why_size, "the build failed (log: %s)", log);
        rm_rf(tmp);
        return -3;
    }
    /* keep only the executable */
    char built[4500], keep[4300];
    snprintf(built, sizeof built, "%s/build/native/drivers/gate/worker", tmp);
    snprintf(keep, sizeof keep, "%s/worker", tmp);
    if (rename(built, keep)) { snprintf(why, why_size, "no worker after the build"); rm_rf(tmp); return -3; }
    rm_rf(dir);
    if (mkdir(dir, 0755) || rename(keep, exe)) { snprintf(why, why_size, "cannot store the build in %s", dir); rm_rf(tmp); return -3; }
    rm_rf(tmp);
    return 0;
}
