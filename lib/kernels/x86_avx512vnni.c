/* AVX-512 VNNI kernels: the AVX-512 code of x86_avx512.c with its int8 dot
 * product step done by vpdpbusd (u8 x s8, 4 products summed into each int32
 * lane): Q4_0 nibbles and Q8_0 weights + 128 against signed activations.
 * Built with -mavx512vnni; kernels_select() only picks it on a CPU with
 * AVX512_VNNI and the OS saving ZMM state.
 * (Build note: this object also depends on x86_avx512.c.) */
#if defined(__x86_64__)
#define QI_AVX512_VNNI 1
#include "x86_avx512.c"
#endif
