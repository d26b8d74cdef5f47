// Per-target loads of f32/f16/bf16 rows widened to f32 vectors, shared by the matmul, prefill GEMM
// and grouped-attention kernels. Included once per Highway target from inside
// `namespace kvpress::HWY_NAMESPACE` (after <hwy/highway.h> and ops/dtype.h); the include guard
// toggles per target as Highway's -inl.h convention requires.
#if defined(KVPRESS_OPS_WIDEN_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef KVPRESS_OPS_WIDEN_INL_H_
#undef KVPRESS_OPS_WIDEN_INL_H_
#else
#define KVPRESS_OPS_WIDEN_INL_H_
#endif

// Lanes(d) elements of a row stored as kT (F32, F16 or BF16) from element i, widened to f32.
template <DType kT, class D>
HWY_INLINE hwy::HWY_NAMESPACE::Vec<D> LoadWidened(D d, const void* row, size_t i) {
  namespace hn = hwy::HWY_NAMESPACE;
  if constexpr (kT == DType::kF32) {
    return hn::LoadU(d, static_cast<const float*>(row) + i);
  } else if constexpr (kT == DType::kBF16) {
    // bf16 is the high half of an f32: widen the bits and shift them up.
    const hn::Rebind<uint16_t, D> du16;
    const hn::RebindToUnsigned<D> du32;
    const auto bits = hn::PromoteTo(du32, hn::LoadU(du16, static_cast<const uint16_t*>(row) + i));
    return hn::BitCast(d, hn::ShiftLeft<16>(bits));
  } else {
    static_assert(kT == DType::kF16, "LoadWidened takes F32, F16 or BF16");
    const hn::Rebind<hwy::float16_t, D> df16;
    return hn::PromoteTo(d, hn::LoadU(df16, static_cast<const hwy::float16_t*>(row) + i));
  }
}

// The same with the dtype known only at run time (t: F32, F16 or BF16).
template <class D>
HWY_INLINE hwy::HWY_NAMESPACE::Vec<D> LoadWidened(D d, DType t, const void* row, size_t i) {
  if (t == DType::kF32) return LoadWidened<DType::kF32>(d, row, i);
  if (t == DType::kBF16) return LoadWidened<DType::kBF16>(d, row, i);
  return LoadWidened<DType::kF16>(d, row, i);
}

#endif  // include guard
