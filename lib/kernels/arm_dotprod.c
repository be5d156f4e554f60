/* AArch64 kernels with the dot product extension (sdot, armv8.2-a+dotprod):
 * the NEON code of arm_neon.c with its int8 products done by sdot, plus the
 * 4-row x 8-column tiled prefill path built on sdot by element.
 * kernels_select() only picks it when HWCAP_ASIMDDP (and the fp16 bits the
 * build flags allow) are set. (Build note: this object also depends on
 * arm_neon.c.) */
#if defined(__aarch64__)
#define QI_ARM_DOTPROD 1
#include "arm_neon.c"
#endif
