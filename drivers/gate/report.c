/* results.tsv -> results.svg: every gate run as a point at the speed it
 * would give relative to the anchor (the kept speed-ups so far times its
 * own), its 95% interval as a bar; kept runs are joined by a line, quality
 * failures are red crosses, crashes, violations and invalid runs sit on the
 * floor as marked triangles. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"

static double num(const char *s, int *ok) {
    char *end;
    double v = strtod(s, &end);
    *ok = *s && !*end && isfinite(v);
    return v;
}

static void esc(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

int cmd_report(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: judge report RESULTS.tsv OUT.svg\n");
        return 64;
    }
    result_row *rows;
    char *buf;
    int n = results_read(argv[0], &rows, &buf);
    if (n < 0) {
        fprintf(stderr, "report: cannot read %s\n", argv[0]);
        return 1;
    }
    /* the level each row starts from, and where it would go */
    double *base = malloc((size_t)(n ? n : 1) * sizeof *base), *y = malloc((size_t)(n ? n : 1) * sizeof *y);
    double *lo = malloc((size_t)(n ? n : 1) * sizeof *lo), *hi = malloc((size_t)(n ? n : 1) * sizeof *hi);
    int *has = calloc((size_t)(n ? n : 1), sizeof *has);
    double level = 1, ymin = 1, ymax = 1;
    int kept = 0, failed_q = 0, broken = 0;
    for (int i = 0; i < n; i++) {
        int ok1, ok2, ok3;
        double s = num(rows[i].col[COL_SPEEDUP], &ok1), l = num(rows[i].col[COL_LO], &ok2), h = num(rows[i].col[COL_HI], &ok3);
        base[i] = level;
        has[i] = ok1;
        y[i] = ok1 ? level * s : level;
        lo[i] = ok2 ? level * l : y[i];
        hi[i] = ok3 ? level * h : y[i];
        if (!strcmp(rows[i].col[COL_STATUS], "keep") && ok1 && strcmp(rows[i].col[COL_DESC], "baseline")) {
            level = y[i];
            kept++;
        }
        if (has[i]) {
            if (lo[i] < ymin) ymin = lo[i];
            if (hi[i] > ymax) ymax = hi[i];
        }
    }
    ymin = floor(ymin * 20 - 1) / 20;
    ymax = ceil(ymax * 20 + 1) / 20;
    const double W = 900, H = 460, L = 70, R = 20, T = 50, B = 70;
    double xs = n > 1 ? (W - L - R) / (n - 1) : 0;
#define X(i) (L + (n > 1 ? (i) * xs : (W - L - R) / 2))
#define Y(v) (T + (H - T - B) * (1 - ((v) - ymin) / (ymax - ymin)))
    FILE *f = fopen(argv[1], "w");
    if (!f) {
        fprintf(stderr, "report: cannot write %s\n", argv[1]);
        return 1;
    }
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" "
               "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", W, H);
    fprintf(f, "<text x=\"%.0f\" y=\"24\" font-size=\"15\">qinfer optimisation loop: %d gate runs, %d kept, speed "
               "relative to the anchor %.3fx</text>\n", L, n, kept, level);
    /* grid */
    for (double v = ymin; v <= ymax + 1e-9; v += (ymax - ymin) > 0.6 ? 0.1 : 0.05) {
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", L, W - R, Y(v), Y(v),
                fabs(v - 1) < 1e-9 ? "#888" : "#eee");
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.2fx</text>\n", L - 6, Y(v) + 4, v);
    }
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">gate run (results.tsv row)</text>\n", (L + W - R) / 2, H - 18);
    fprintf(f, "<text transform=\"translate(16 %.0f) rotate(-90)\" text-anchor=\"middle\">decode speed vs anchor "
               "(ratio of medians, 95%% interval)</text>\n", (T + H - B) / 2);
    /* the kept path */
    fprintf(f, "<polyline fill=\"none\" stroke=\"#2a7\" stroke-width=\"2\" points=\"");
    double cur = 1;
    for (int i = 0; i < n; i++) {
        fprintf(f, "%.1f,%.1f ", X(i), Y(cur));
        if (!strcmp(rows[i].col[COL_STATUS], "keep") && has[i] && strcmp(rows[i].col[COL_DESC], "baseline")) {
            cur = y[i];
            fprintf(f, "%.1f,%.1f ", X(i), Y(cur));
        }
    }
    fprintf(f, "\"/>\n");
    for (int i = 0; i < n; i++) {
        const char *st = rows[i].col[COL_STATUS];
        int quality_fail = !strcmp(rows[i].col[COL_QUALITY], "false");
        fprintf(f, "<g><title>");
        esc(f, rows[i].col[COL_COMMIT]);
        fprintf(f, " %s: ", st);
        esc(f, rows[i].col[COL_DESC]);
        fprintf(f, " (speed-up %s [%s, %s])</title>\n", rows[i].col[COL_SPEEDUP], rows[i].col[COL_LO], rows[i].col[COL_HI]);
        if (!has[i] && !quality_fail) { /* crash, violation, invalid: no speed */
            broken++;
            double yy = H - B + 10;
            fprintf(f, "<path d=\"M%.1f %.1f l-5 9 h10 z\" fill=\"#c60\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" "
                       "text-anchor=\"middle\">%c</text>\n", X(i), yy, X(i), yy + 19, st[0] ? st[0] : '?');
        } else if (quality_fail) {
            failed_q++;
            double yy = has[i] ? Y(y[i]) : H - B + 14;
            fprintf(f, "<path d=\"M%.1f %.1f l8 8 m0 -8 l-8 8\" stroke=\"#d22\" stroke-width=\"2\"/>\n", X(i) - 4, yy - 4);
        } else {
            int keep = !strcmp(st, "keep");
            fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", X(i), X(i), Y(lo[i]),
                    Y(hi[i]), keep ? "#2a7" : "#aaa");
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%d\" fill=\"%s\"/>\n", X(i), Y(y[i]), keep ? 5 : 3,
                    keep ? "#2a7" : "#999");
        }
        fprintf(f, "</g>\n");
    }
    /* legend */
    double lx = L + 10, ly = T - 8;
    fprintf(f, "<circle cx=\"%.0f\" cy=\"%.0f\" r=\"5\" fill=\"#2a7\"/><text x=\"%.0f\" y=\"%.0f\">kept</text>\n", lx, ly, lx + 9, ly + 4);
    fprintf(f, "<circle cx=\"%.0f\" cy=\"%.0f\" r=\"3\" fill=\"#999\"/><text x=\"%.0f\" y=\"%.0f\">discarded</text>\n", lx + 60, ly, lx + 68, ly + 4);
    fprintf(f, "<path d=\"M%.0f %.0f l8 8 m0 -8 l-8 8\" stroke=\"#d22\" stroke-width=\"2\"/><text x=\"%.0f\" y=\"%.0f\">quality "
               "failed (%d)</text>\n", lx + 150, ly - 4, lx + 162, ly + 4, failed_q);
    fprintf(f, "<path d=\"M%.0f %.0f l-5 9 h10 z\" fill=\"#c60\"/><text x=\"%.0f\" y=\"%.0f\">crash (c), violation (v), "
               "invalid (i) (%d)</text>\n", lx + 290, ly - 5, lx + 300, ly + 4, broken);
    fprintf(f, "</svg>\n");
    fclose(f);
    free(base); free(y); free(lo); free(hi); free(has);
    free(rows);
    free(buf);
    return 0;
}
