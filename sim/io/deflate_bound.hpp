#pragma once

#include <cstddef>

namespace citynet::io {

// A lower bound on the size of `data` deflated by zlib with its run-length strategy (Z_RLE) at
// any level from 1 and a memory level of 6 or more, with the zlib wrapper (2 header and 4
// trailer bytes), found without compressing it. It follows zlib's own parse (a run of three or
// more copies of the byte before becomes one length, distance one; anything else a literal) in
// blocks of 4095 symbols, as zlib cuts them at memory level 6, and counts each block at the
// least of its symbols' entropy plus the lengths' extra bits (no prefix code does better) and its
// raw bytes (a stored block). Larger memory levels make larger blocks, which can only cost more.
std::size_t least_run_length_deflate(const unsigned char* data, std::size_t size);

}  // namespace citynet::io
