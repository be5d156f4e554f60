/* Defaults, validation and status texts. The defaults themselves live in
 * inference_config.c so that the optimisation loop edits one small file. */
#include <math.h>
#include <string.h>

#include "base/fail.h"
#include "qinfer.h"

extern const qi_config qi_inference_config;

void qi_config_default(qi_config *cfg) {
    if (!cfg) return;
    *cfg = qi_inference_config;
    cfg->struct_size = sizeof *cfg; /* the knob file leaves it out */
}

qi_status qi_config_check(const qi_config *c, char *msg, size_t n) {
    if (msg && n) msg[0] = 0;
    if (!c) return fail_msg(msg, n, QI_ERR_INVALID_ARG, "config is NULL");
    if (c->struct_size != sizeof(qi_config))
        return fail_msg(msg, n, QI_ERR_INVALID_ARG,
                        "struct_size = %u: start from qi_config_default() (this library's qi_config has %u bytes)",
                        (unsigned)c->struct_size, (unsigned)sizeof(qi_config));
    if (c->n_threads < 0 || c->n_threads > 1024)
        return fail_msg(msg, n, QI_ERR_INVALID_ARG, "n_threads = %d: must be 0 (auto) to 1024", c->n_threads);
    if (c->prefill_chunk < 1 || c->prefill_chunk > 65536)
        return fail_msg(msg, n, QI_ERR_INVALID_ARG, "prefill_chunk = %d: must be 1 to 65536", c->prefill_chunk);
    if (c->kv_capacity < 0)
        return fail_msg(msg, n, QI_ERR_INVALID_ARG,
                        "kv_capacity = %d: must be >= 0 (0 = model context)", c->kv_capacity);
    if (c->kv_type != QI_KV_F32 && c->kv_type != QI_KV_F16 && c->kv_type != QI_KV_Q8_0)
        return fail_msg(msg, n, QI_ERR_INVALID_ARG,
                        "kv_type = %d: must be QI_KV_F32, QI_KV_F16 or QI_KV_Q8_0", (int)c->kv_type);
    if (c->compute != QI_COMPUTE_Q8 && c->compute != QI_COMPUTE_F32)
        return fail_msg(msg, n, QI_ERR_INVALID_ARG,
                        "compute = %d: must be QI_COMPUTE_Q8 or QI_COMPUTE_F32", (int)c->compute);
    if (c->huge_pages != 0 && c->huge_pages != 1)
        return fail_msg(msg, n, QI_ERR_INVALID_ARG, "huge_pages = %d: must be 0 or 1", c->huge_pages);
    if (c->output_q4_0 != 0 && c->output_q4_0 != 1)
        return fail_msg(msg, n, QI_ERR_INVALID_ARG, "output_q4_0 = %d: must be 0 or 1", c->output_q4_0);
    if ((unsigned)c->isa >= QI_ISA_COUNT)
        return fail_msg(msg, n, QI_ERR_INVALID_ARG, "isa = %d: must be a qi_isa value", (int)c->isa);
    if (c->decode_prefetch < -1 || c->decode_prefetch > 65536 || (c->decode_prefetch > 0 && c->decode_prefetch % 64))
        return fail_msg(msg, n, QI_ERR_INVALID_ARG,
                        "decode_prefetch = %d: must be -1 (the level's own), 0 (none) or a multiple of 64 up to 65536",
                        c->decode_prefetch);
    if (c->decode_rows < 0 || c->decode_rows > 65536 || c->decode_rows % 16)
        return fail_msg(msg, n, QI_ERR_INVALID_ARG,
                        "decode_rows = %d: must be 0 (equal shares) or a multiple of 16 up to 65536", c->decode_rows);
    if (c->prefill_rows < 0 || c->prefill_rows > 65536 || c->prefill_rows % 16)
        return fail_msg(msg, n, QI_ERR_INVALID_ARG,
                        "prefill_rows = %d: must be 0 (equal shares) or a multiple of 16 up to 65536", c->prefill_rows);
    if (c->spin < 0 || c->spin > 100000000)
        return fail_msg(msg, n, QI_ERR_INVALID_ARG, "spin = %d: must be 0 to 100000000", c->spin);
    if (!(c->temperature >= 0) || !isfinite(c->temperature))
        return fail_msg(msg, n, QI_ERR_INVALID_ARG, "temperature = %g: must be >= 0", c->temperature);
    if (c->top_k < 0)
        return fail_msg(msg, n, QI_ERR_INVALID_ARG, "top_k = %d: must be >= 0 (0 = off)", c->top_k);
    if (!(c->top_p > 0 && c->top_p <= 1))
        return fail_msg(msg, n, QI_ERR_INVALID_ARG, "top_p = %g: must be in (0, 1]", c->top_p);
    if (!(c->min_p >= 0 && c->min_p < 1))
        return fail_msg(msg, n, QI_ERR_INVALID_ARG, "min_p = %g: must be in [0, 1)", c->min_p);
    if (!(c->repeat_penalty > 0) || !isfinite(c->repeat_penalty))
        return fail_msg(msg, n, QI_ERR_INVALID_ARG, "repeat_penalty = %g: must be > 0", c->repeat_penalty);
    if (c->repeat_last_n < 0)
        return fail_msg(msg, n, QI_ERR_INVALID_ARG, "repeat_last_n = %d: must be >= 0", c->repeat_last_n);
    return QI_OK;
}

static const char *const isa_names[QI_ISA_COUNT] = {"auto", "scalar", "avx2", "avx512", "avx512vnni", "neon",
                                                    "dotprod", "i8mm", "amx"};

const char *qi_isa_name(qi_isa isa) { return (unsigned)isa < QI_ISA_COUNT ? isa_names[isa] : "?"; }

int qi_isa_parse(const char *name) {
    for (int i = 0; name && i < QI_ISA_COUNT; i++)
        if (!strcmp(name, isa_names[i])) return i;
    return -1;
}

static const char *const kv_names[] = {"f32", "f16", "q8_0"};

const char *qi_kv_type_name(qi_kv_type t) { return (unsigned)t < 3 ? kv_names[t] : "?"; }

int qi_kv_type_parse(const char *name) {
    for (int i = 0; name && i < 3; i++)
        if (!strcmp(name, kv_names[i])) return i;
    return -1;
}

const char *qi_status_str(qi_status s) {
    static const char *const text[QI_STATUS_COUNT] = {
        [QI_OK] = "ok",
        [QI_ERR_INVALID_ARG] = "invalid argument",
        [QI_ERR_NOMEM] = "out of memory",
        [QI_ERR_IO] = "I/O error",
        [QI_ERR_GGUF_MAGIC] = "not a GGUF file",
        [QI_ERR_GGUF_VERSION] = "unsupported GGUF version",
        [QI_ERR_GGUF_TRUNCATED] = "GGUF file truncated",
        [QI_ERR_GGUF_COUNT] = "GGUF count or length too large",
        [QI_ERR_GGUF_TYPE] = "unknown GGUF type",
        [QI_ERR_GGUF_OFFSET] = "GGUF tensor data out of bounds",
        [QI_ERR_GGUF_SHAPE] = "bad GGUF tensor shape",
        [QI_ERR_GGUF_DUPLICATE] = "duplicate GGUF key or tensor",
        [QI_ERR_GGUF_ALIGNMENT] = "bad GGUF alignment",
        [QI_ERR_MODEL_ARCH] = "unsupported model architecture",
        [QI_ERR_MODEL_KEY] = "missing or invalid model metadata",
        [QI_ERR_MODEL_TENSOR] = "missing or misshapen model tensor",
        [QI_ERR_MODEL_TENSOR_TYPE] = "unsupported tensor type",
        [QI_ERR_NO_VOCAB] = "model has no vocabulary",
        [QI_ERR_BAD_TOKEN] = "token id out of range",
        [QI_ERR_CONTEXT_FULL] = "context full",
        [QI_ERR_BUFFER_TOO_SMALL] = "buffer too small",
        [QI_ERR_TOKENIZER] = "malformed tokenizer metadata",
        [QI_ERR_CANCELLED] = "cancelled",
        [QI_ERR_MODEL_VALUES] = "NaN or infinite weight",
    };
    return (unsigned)s < QI_STATUS_COUNT && text[s] ? text[s] : "unknown status";
}

const char *qi_version(void) { return QINFER_VERSION; }
