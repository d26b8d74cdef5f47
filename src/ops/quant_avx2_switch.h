// Sets KVPRESS_QUANT_AVX2 for the Highway target being compiled: 1 on the x86 targets with AVX2
// (AVX2, AVX-512), whose int8 kernels use x86 intrinsics (Highway 1.0 has no 8-bit dot product),
// 0 on every other target (the scalar reference). Included once per target pass by the files
// compiled through hwy/foreach_target.h, before their namespace, so it has no include guard.
#undef KVPRESS_QUANT_AVX2
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#include <immintrin.h>
#define KVPRESS_QUANT_AVX2 1
#else
#define KVPRESS_QUANT_AVX2 0
#endif
