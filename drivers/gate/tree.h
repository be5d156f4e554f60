/* The judge's view of the repository: what differs from the anchor, the two
 * editable files of a revision, and worker builds from exports (never from
 * the working tree's build folder), cached by what they are built from. */
#ifndef QINFER_GATE_TREE_H
#define QINFER_GATE_TREE_H

#include <stddef.h>

#define EDIT_SAMPLE "lib/sample.c"
#define EDIT_CONFIG "lib/inference_config.c"

/* run argv (no shell), capture stdout (NUL-terminated, truncated to cap);
 * returns the exit status, -1 if it could not run. stderr goes to errlog
 * (appended) when not NULL, else to /dev/null. */
int run_cmd(char *const argv[], const char *cwd, char *out, size_t cap, const char *errlog);

/* 0 when the working tree differs from the anchor only in the two files
 * (modified, not added, deleted or renamed) and holds no untracked file that
 * the anchor's .gitignore (anchor_root/.gitignore) does not ignore; else -1
 * and why names the first offending path */
int check_tree(const char *repo, const char *anchor, const char *anchor_root, char *why, size_t why_size);
/* the same between two commits */
int check_commit(const char *repo, const char *anchor, const char *rev, char *why, size_t why_size);

/* a file of a revision ("WORKTREE" for the working tree): malloc'd text */
char *rev_file(const char *repo, const char *rev, const char *path);

/* Build the worker from the anchor's tree with these two files. Protocol
 * checks on sample.c and sample.o come first (code_checks 0 skips them: only
 * the sandbox's tests, to reach the sandbox); a violation returns -2 (why
 * says it), a build failure -3 (log holds the compiler's output), 0 on
 * success with the executable's path in exe. */
int build_worker(const char *repo, const char *anchor, const char *anchor_root, const char *cache, const char *sample,
                 const char *config, int code_checks, char *exe, size_t exe_size, char *log, size_t log_size, char *why,
                 size_t why_size);

#endif
