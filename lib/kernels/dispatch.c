/* Picks the kernel table: runtime CPU detection (cpuid + xgetbv on x86_64,
 * getauxval on aarch64), or the level qi_config.isa names. Nothing is cached:
 * detection is a handful of instructions and the caller keeps the pointer
 * (but for the CPU's maker, which the decode kernels ask at every product). */
#include <stdio.h>
#include <string.h>

#include "kernels.h"
#include "formats/gguf.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
extern const qi_kernels qi_kernels_avx2, qi_kernels_avx512, qi_kernels_avx512vnni;
const qi_kernels *kernels_amx(void); /* x86_amx.c: the VNNI table with AMX prefill products */
#elif defined(__aarch64__)
#include <sys/auxv.h>
extern const qi_kernels qi_kernels_neon, qi_kernels_dotprod, qi_kernels_i8mm;
#endif

/* Every level any build knows, worst to best within an architecture. */
static const char *const all_names[] = {"scalar", "avx2", "avx512", "avx512vnni", "amx", "neon", "dotprod", "i8mm"};

cpu_kind cpu_kind_of(int intel, unsigned leaf1_eax) {
    if (!intel) return CPU_OTHER;
    unsigned family = (leaf1_eax >> 8) & 0xf, model = ((leaf1_eax >> 4) & 0xf) | ((leaf1_eax >> 12) & 0xf0);
    return family == 6 && (model == 0x8f || model == 0xcf) ? CPU_INTEL_SPR : CPU_INTEL;
}

#if defined(__x86_64__)
static unsigned long long xgetbv0(void) {
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

cpu_kind kernels_cpu(void) {
    static int known; /* 0: not asked yet, else 1 + the kind */
    int v = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (!v) {
        unsigned a, b, c, d; /* "GenuineIntel" in ebx, edx, ecx */
        int intel = __get_cpuid(0, &a, &b, &c, &d) && b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e;
        v = 1 + (int)cpu_kind_of(intel, __get_cpuid(1, &a, &b, &c, &d) ? a : 0);
        __atomic_store_n(&known, v, __ATOMIC_RELAXED);
    }
    return (cpu_kind)(v - 1);
}

/* Linux lends a process the AMX tile registers only once asked
 * (ARCH_REQ_XCOMP_PERM for XTILEDATA); using them unasked is SIGILL. Asked
 * once: the answer holds for the process and every thread. */
static int amx_permitted(void) {
    static int known; /* 0: not asked yet, 1: refused, 2: granted */
    int v = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (!v) {
        v = syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) == 0 ? 2 : 1;
        __atomic_store_n(&known, v, __ATOMIC_RELAXED);
    }
    return v == 2;
}

/* Fills tables[] with the levels this CPU and OS can run, scalar first. */
static int detect(const qi_kernels **t, int cap) {
    int n = 0;
    if (n < cap) t[n++] = &qi_kernels_scalar;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(1, 0, &a, &b, &c, &d)) return n;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !avx) return n;
    unsigned long long xcr0 = xgetbv0();
    int os_ymm = (xcr0 & 0x6) == 0x6;          /* XMM and YMM state */
    int os_zmm = os_ymm && (xcr0 & 0xe0) == 0xe0; /* opmask, ZMM_Hi256, Hi16_ZMM */
    unsigned max_leaf = __get_cpuid_max(0, NULL);
    if (max_leaf < 7 || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return n;
    int avx2 = (b >> 5) & 1;
    int avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
    int vnni = (c >> 11) & 1;
    int amx = ((d >> 24) & 1) && ((d >> 25) & 1) && ((d >> 22) & 1); /* AMX-TILE, AMX-INT8, AMX-BF16 */
    int os_amx = (xcr0 & 0x60000) == 0x60000;    /* XTILECFG, XTILEDATA */
    if (!(os_ymm && avx2 && fma && f16c)) return n;
    if (n < cap) t[n++] = &qi_kernels_avx2;
    if (!(os_zmm && avx512f && avx512dq && avx512bw && avx512vl)) return n;
    if (n < cap) t[n++] = &qi_kernels_avx512;
    if (!vnni) return n;
    if (n < cap) t[n++] = &qi_kernels_avx512vnni;
    if (!(amx && os_amx && amx_permitted())) return n;
    if (n < cap) t[n++] = kernels_amx();
    return n;
}
#elif defined(__aarch64__)
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1UL << 1)
#endif
#ifndef HWCAP_FPHP
#define HWCAP_FPHP (1UL << 9)
#endif
#ifndef HWCAP_ASIMDHP
#define HWCAP_ASIMDHP (1UL << 10)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1UL << 20)
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1UL << 13)
#endif
static int detect(const qi_kernels **t, int cap) {
    int n = 0;
    if (n < cap) t[n++] = &qi_kernels_scalar;
    unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    if (!(hw & HWCAP_ASIMD)) return n;
    if (n < cap) t[n++] = &qi_kernels_neon;
    /* the dotprod/i8mm files are built with +fp16 as well, so ask for it too */
    if (!((hw & HWCAP_ASIMDDP) && (hw & HWCAP_ASIMDHP) && (hw & HWCAP_FPHP))) return n;
    if (n < cap) t[n++] = &qi_kernels_dotprod;
    if (!(hw2 & HWCAP2_I8MM)) return n;
    if (n < cap) t[n++] = &qi_kernels_i8mm;
    return n;
}
#else
static int detect(const qi_kernels **t, int cap) {
    int n = 0;
    if (n < cap) t[n++] = &qi_kernels_scalar;
    return n;
}
#endif

#define MAX_LEVELS 8

int kernels_available(const qi_kernels **out, int cap) {
    return cap > 0 ? detect(out, cap) : 0;
}

const qi_kernels *kernels_select(const char *force, char *err, size_t err_size) {
    const qi_kernels *t[MAX_LEVELS];
    int n = detect(t, MAX_LEVELS);
    if (err && err_size) err[0] = 0;
    if (!force || !*force) return t[n - 1];
    for (int i = 0; i < n; i++)
        if (!strcmp(t[i]->name, force)) return t[i];

    int known = 0;
    for (size_t i = 0; i < sizeof all_names / sizeof all_names[0]; i++)
        if (!strcmp(all_names[i], force)) known = 1;
    if (err && err_size) {
        char have[128] = "";
        for (int i = 0; i < n; i++) {
            strncat(have, t[i]->name, sizeof have - strlen(have) - 1);
            if (i + 1 < n) strncat(have, "|", sizeof have - strlen(have) - 1);
        }
        if (known)
            snprintf(err, err_size, "kernel level %s: this CPU or build cannot run it (available here: %s)", force,
                     have);
        else
            snprintf(err, err_size,
                     "kernel level %s: unknown (known: scalar|avx2|avx512|avx512vnni|amx|neon|dotprod|i8mm; "
                     "available here: %s)",
                     force, have);
    }
    return NULL;
}

qi_gemm_fn kernels_gemm(const qi_kernels *k, uint32_t t) {
    const qi_kernels *s = &qi_kernels_scalar;
    switch (t) {
    case GGML_Q4_0: return k->gemm_q4_0;
    case GGML_Q8_0: return k->gemm_q8_0;
    case GGML_Q4_1: return k->gemm_q4_1 ? k->gemm_q4_1 : s->gemm_q4_1;
    case GGML_Q5_0: return k->gemm_q5_0 ? k->gemm_q5_0 : s->gemm_q5_0;
    case GGML_Q5_1: return k->gemm_q5_1 ? k->gemm_q5_1 : s->gemm_q5_1;
    case GGML_Q4_K: return k->gemm_q4_k ? k->gemm_q4_k : s->gemm_q4_k;
    case GGML_Q5_K: return k->gemm_q5_k ? k->gemm_q5_k : s->gemm_q5_k;
    case GGML_Q6_K: return k->gemm_q6_k ? k->gemm_q6_k : s->gemm_q6_k;
    default: return NULL;
    }
}

void kernels_gemm_row16(const qi_kernels *k, uint32_t t, int n, const void *w, size_t ws, int n_rows,
                        const block_q8_0 *x, size_t xs, int n_cols, float *out, size_t os, int prefetch,
                        uint8_t *scratch) {
    qi_gemm_fn r16 = t == GGML_Q4_0 ? k->gemm_q4_0_r16 : k->gemm_q8_0_r16;
    if (r16) {
        r16(n, w, ws, n_rows, x, xs, n_cols, out, os, prefetch);
        return;
    }
    qi_gemm_fn g = kernels_gemm(k, t);
    for (int r0 = 0; r0 < n_rows; r0 += ROW16_CHUNK) {
        const int nr = n_rows - r0 < ROW16_CHUNK ? n_rows - r0 : ROW16_CHUNK;
        for (int r = 0; r < nr; r += ROW16)
            row16_unpack_group(t, (const uint8_t *)w + (size_t)(r0 + r) * ws, scratch + (size_t)r * ws, ws, n);
        g(n, scratch, ws, nr, x, xs, n_cols, out + r0, os, prefetch);
    }
}

int kernels_row16_native(const char *force) {
    const qi_kernels *k = kernels_select(force, NULL, 0);
    return k && k->row16;
}
