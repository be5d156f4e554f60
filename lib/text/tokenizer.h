/* Qwen2 byte-level BPE tokenizer, built from a GGUF's tokenizer.ggml.* keys.
 * Internal to libqinfer. Matches the Hugging Face tokenizer of Qwen2/Qwen2.5:
 *
 *   encode: 1. added tokens (CONTROL and USER_DEFINED types) are cut out of
 *              the raw text first, leftmost-longest, as HF does for tokens
 *              with normalized=false; USER_DEFINED ones (<tool_call>) always,
 *              CONTROL ones (<|im_start|>, ...) only when parse_special
 *           2. each remaining piece is put in NFC
 *           3. split by the Qwen2 pre-tokenizer regex, done by hand:
 *              (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|
 *              ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *           4. each piece's bytes become byte tokens, merged by BPE rank
 *   decode: byte-level tokens map back to raw bytes ("Ġ" -> ' '); CONTROL and
 *           USER_DEFINED tokens give their text; UNUSED tokens give nothing.
 *           (Whole UTF-8 characters out of a stream of tokens: qi_detok_feed,
 *           text.c.)
 *
 * Invalid UTF-8 in the input is not an error: each bad byte stays as is
 * through NFC, counts as punctuation for the split, and becomes its byte
 * token, so the token bytes always concatenate back to the input.
 *
 * A qi_tokenizer is immutable after tok_load: share it between threads.
 * Nothing here prints, exits or keeps global state. */
#ifndef QINFER_TOKENIZER_H
#define QINFER_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>
#include "formats/gguf.h"

typedef struct qi_tokenizer qi_tokenizer;

/* tokenizer.ggml.token_type values (llama.cpp's) */
enum tok_type {
    TOK_UNDEFINED = 0, TOK_NORMAL = 1, TOK_UNKNOWN = 2, TOK_CONTROL = 3,
    TOK_USER_DEFINED = 4, TOK_UNUSED = 5, TOK_BYTE = 6
};

/* Build from tokenizer.ggml.{model,tokens,token_type,merges,pre,
 * bos_token_id,eos_token_id}. QI_ERR_NO_VOCAB when tokenizer.ggml.model is
 * "none" or absent; QI_ERR_TOKENIZER, with err naming the key, when the
 * metadata is malformed (model not "gpt2", token list missing, type list of
 * another length, a merge that is not "left right" of known tokens, special
 * ids out of range). Copies everything: g may be closed afterwards.
 * A vocab that loads but can not encode (tokenizer.ggml.pre not "qwen2" or
 * an alias of it, or a byte without a token) still decodes; tok_encode
 * refuses it. */
qi_status tok_load(const gguf_file *g, qi_tokenizer **out, char *err, size_t err_size);
void tok_free(qi_tokenizer *t);

int tok_n_vocab(const qi_tokenizer *t);     /* entries in tokenizer.ggml.tokens */
/* 1 if id ends a generation: tokenizer.ggml.eos_token_id, <|im_end|> or
 * <|endoftext|> (resolved once, in tok_load) */
int tok_is_eog(const qi_tokenizer *t, int32_t id);

/* Token string as stored in the vocab ("<|im_end|>", "Ġhello") -> id, or -1. */
int32_t tok_find(const qi_tokenizer *t, const char *text);

/* Append the ids of text[0..len) to the growable array (*ids, *n, *cap);
 * the caller frees *ids. On error *n is left as it was. QI_ERR_TOKENIZER if
 * the vocab can not encode (see tok_load), QI_ERR_NOMEM, QI_ERR_INVALID_ARG. */
qi_status tok_encode(const qi_tokenizer *t, const char *text, size_t len, int parse_special,
                     int32_t **ids, size_t *n, size_t *cap);

/* Raw bytes of one token. Returns the byte count (0 for ids out of range
 * and UNUSED tokens) and writes min(count, cap) bytes; no NUL. */
size_t tok_token_bytes(const qi_tokenizer *t, int32_t id, char *out, size_t cap);

#endif
