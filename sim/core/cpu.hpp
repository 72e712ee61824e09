#pragma once

namespace citynet {

// Whether this machine runs AVX2 code: the processor has it and the operating system keeps its
// registers (what __builtin_cpu_supports checks). Functions compiled for AVX2 beside the x86-64
// baseline run only where this holds.
inline bool cpu_has_avx2() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
#else
  return false;
#endif
}

}  // namespace citynet
