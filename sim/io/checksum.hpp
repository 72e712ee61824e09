#pragma once

#include <cstddef>
#include <cstdint>

namespace citynet::io {

// zlib's adler32(adler, data, size): the same value (start from 1), computed with AVX2 where the
// processor has it. zlib 1.2's own is scalar, 3.4 GB/s against 36 GB/s on the machine of
// docs/benchmarks.md, and was a seventh of zlib's time in writing a run's cities and ties at 10^5
// (4.4 of 31 % of BM_RunFileStatic); every deflate stream in a run file ends with it.
std::uint32_t adler32(std::uint32_t adler, const unsigned char* data, std::size_t size);

}  // namespace citynet::io
