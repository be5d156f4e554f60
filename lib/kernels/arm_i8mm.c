/* AArch64 kernels with the int8 matrix multiply extension (smmla,
 * armv8.2-a+dotprod+i8mm): the code of arm_neon.c with sdot for the decode
 * path and a prefill path of 2x2 row x column tiles on smmla.
 * kernels_select() only picks it when HWCAP2_I8MM is set as well.
 * (Build note: this object also depends on arm_neon.c.) */
#if defined(__aarch64__)
#define QI_ARM_I8MM 1
#include "arm_neon.c"
#endif
