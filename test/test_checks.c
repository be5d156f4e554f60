/* The judge's sanity checks (drivers/gate/checks.c): each rule, the cases it
 * must refuse, and the prompt-file reader's errors. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../drivers/gate/checks.h"
#include "test.h"

typedef struct { const char *kind, *want, *answer; int expect; } tcase;

static const tcase CASES[] = {
    {"number", "48", "17 + 31 = 48.", 1},
    {"number", "48", "48", 1},
    {"number", "48", "17 + 31 = 49.", 0},
    {"number", "31", "62 - 31 = 62.", 0},          /* the last number counts, not any */
    {"number", "-14", "17 - 31 = -14.", 1},
    {"number", "14", "17 - 31 = -14.", 0},
    {"number", "5", "a-5", 1},                     /* '-' after a letter is not a sign */
    {"number", "2", "H2O", 0},                     /* digits inside a word are not numbers */
    {"number", "3", "pi is 3.14", 1},              /* "14" follows a '.', so 3 is the last */
    {"number", "100", "Water boils at 100 degrees.", 1},
    {"number", "10", "Water boils at 100 degrees.", 0},
    {"number", "1", "", 0},
    {"words", "stone river apple", "stone, river, apple", 1},
    {"words", "stone river apple", "Stone, River, apple.", 1},
    {"words", "stone river apple", "stone, river", 0},
    {"words", "stone river apple", "stone, river, apple, stone", 0},
    {"words", "stone river apple", "stones, river, apple", 0},
    {"words", "stone river apple", "ston, river, apple", 0},
    {"keyword", "paris", "The capital of France is Paris.", 1},
    {"keyword", "paris", "Parisian food", 0},
    {"keyword", "seven|7", "There are 7 days.", 1},
    {"keyword", "seven|7", "There are 17 days.", 0},
    {"keyword", "twenty-four|24", "twenty-four hours", 1},
    {"keyword", "au", "The symbol is Au.", 1},
    {"keyword", "au", "The symbol is Aug.", 0},
    {"keywords", "blue,sky|air", "The sky is blue", 1},
    {"keywords", "blue,sky|air", "The sea is blue", 0},
    {"python", "add", "```python\ndef add(a, b):\n    return a + b\n```", 1},
    {"python", "add", "def add(a, b):\n    return a + b\n", 1},
    {"python", "add", "```python\ndef plus(a, b):\n    return a + b\n```", 0},   /* wrong name */
    {"python", "-", "```python\ndef plus(a, b):\n    return a + b\n```", 1},
    {"python", "add", "```python\ndef add(a, b):\n```", 0},                      /* no body */
    {"python", "add", "```python\ndef add(a, b)\n    return a + b\n```", 0},      /* no colon */
    {"python", "add", "```python\ndef add(a, b:\n    return a + b\n```", 0},      /* open bracket */
    {"python", "add", "```python\ndef add(a, b):\nreturn a + b\n```", 0},         /* body not indented */
    {"python", "add", "```python\ndef add(a, b):\n    return a + b\n  x = 1\n```", 0}, /* bad dedent */
    {"python", "add", "```python\ndef add(a, b):\n    return 'a + b\n```", 0},     /* open string */
    {"python", "add", "```python\ndef add(a, b):\n\treturn a + b\n```", 0},       /* tab */
    {"python", "f", "```python\ndef f(n):\n    r = 1\n    for i in range(2, n + 1):\n        r *= i\n    return r\n```", 1},
    {"python", "f", "```python\ndef f(x):\n    if x < 0:\n        return -x\n    return x\n```", 1},
    {"python", "f", "```python\ndef f(x):\n    if x < 0: return -x\n    return x\n```", 1},
    {"python", "f", "```python\ndef f(s):\n    return \"Hello, \" + s + \"!\"\n```", 1},
    {"python", "f", "```python\ndef f(x):\n    return x\n    x = 1 +\n```", 1},  /* shape only: not a parser */
    {"python", "f", "```python\ndef f(x):\n    x = 1:\n```", 0},                  /* ':' on a plain statement */
    {"python", "f", "The function is f.", 0},
    {"poem", "sea", "The sea is wide,\nit waits,\nand I love the sea,\nthe end.", 1},
    {"poem", "sea", "The sea is wide,\n\nit waits,\nand I love the sea,\nthe end.\n", 1},
    {"poem", "sea", "The sea is wide,\nit waits,\nthe end.", 0},
    {"poem", "sea", "The seas are wide,\nit waits,\nand I love them,\nthe end.", 0},
    {"poem", "-", "a\nb\nc\nd", 1},
    {"lines", "2", "a\n\nb\n", 1},
    {"lines", "2", "a\nb\nc", 0},
};

static void rules(void) {
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const tcase *c = &CASES[i];
        int got = check_answer(c->kind, c->want, c->answer);
        CHECK(got == c->expect, "case %zu: %s '%s' on '%s': got %d, want %d", i, c->kind, c->want, c->answer, got,
              c->expect);
    }
    CHECK(check_answer("nonsense", "x", "x") == -1, "unknown kind");
    CHECK(check_answer(NULL, "x", "x") == -1 && check_answer("number", NULL, "1") == -1, "NULL arguments");
}

static const char *write_tmp(const char *text) {
    static char path[64];
    strcpy(path, "/tmp/qinfer-checks-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    ssize_t w = write(fd, text, strlen(text));
    close(fd);
    return w == (ssize_t)strlen(text) ? path : NULL;
}

static void prompt_files(void) {
    char err[256];
    prompt_set ps;
    const char *p = write_tmp("# comment\n1\tadd\tnumber\t48\tWhat is 17 + 31?\n\n2\tpoem\tpoem\tsea\tA poem\n");
    CHECK(p && prompt_set_load(p, &ps, err, sizeof err) == 0, "load: %s", err);
    CHECK(ps.n == 2 && ps.rows[0].id == 1 && !strcmp(ps.rows[0].want, "48") && !strcmp(ps.rows[1].prompt, "A poem"),
          "fields");
    prompt_set_free(&ps);
    if (p) unlink(p);
    p = write_tmp("1\tadd\tnumber\t48\n");
    CHECK(p && prompt_set_load(p, &ps, err, sizeof err) < 0 && strstr(err, ":1: want 5"), "too few fields: %s", err);
    if (p) unlink(p);
    p = write_tmp("1\tadd\tnumbr\t48\tWhat?\n");
    CHECK(p && prompt_set_load(p, &ps, err, sizeof err) < 0 && strstr(err, "unknown check"), "bad check: %s", err);
    if (p) unlink(p);
    p = write_tmp("# nothing\n");
    CHECK(p && prompt_set_load(p, &ps, err, sizeof err) < 0 && strstr(err, "no prompts"), "empty: %s", err);
    if (p) unlink(p);
    CHECK(prompt_set_load("/nonexistent/x.tsv", &ps, err, sizeof err) < 0 && strstr(err, "cannot open"), "missing");
    /* the shipped sets all load */
    p = write_tmp("1\tx\tlines\t2\ta\\nb\\\\c\\td\n");
    CHECK(p && prompt_set_load(p, &ps, err, sizeof err) == 0 && !strcmp(ps.rows[0].prompt, "a\nb\\c\td"),
          "escapes in the prompt: '%s'", p ? ps.rows[0].prompt : "");
    prompt_set_free(&ps);
    if (p) unlink(p);
    const char *sets[] = {"data/tiny-chat/heldout.tsv", "data/tiny-chat/workload.tsv", "data/workload/qwen2.5-prompts.tsv"};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        CHECK(prompt_set_load(sets[i], &ps, err, sizeof err) == 0 && ps.n >= (i ? 5 : 100), "%s: %s", sets[i], err);
        prompt_set_free(&ps);
    }
}

int main(void) {
    RUN(rules);
    RUN(prompt_files);
    return TEST_EXIT();
}
