#include "gunzip.h"

#include <libdeflate.h>

#include <memory>

namespace hairtrigger {
namespace {

struct FreeDecompressor {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

libdeflate_decompressor* ThreadDecompressor() {
  thread_local std::unique_ptr<libdeflate_decompressor, FreeDecompressor> d(libdeflate_alloc_decompressor());
  return d.get();
}

bool IsMember(const uint8_t* p, size_t n) { return n >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8; }

bool AllZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] != 0) return false;
  }
  return true;
}

}  // namespace

GunzipResult GunzipInto(const uint8_t* src, size_t src_len, uint8_t* dst, size_t dst_cap) {
  if (!IsMember(src, src_len)) return {GunzipStatus::kNotGzip, 0};
  libdeflate_decompressor* d = ThreadDecompressor();
  if (d == nullptr) return {GunzipStatus::kNoMemory, 0};
  size_t in = 0, out = 0;
  while (in < src_len) {
    if (!IsMember(src + in, src_len - in)) {
      return AllZero(src + in, src_len - in) ? GunzipResult{GunzipStatus::kOk, out} : GunzipResult{GunzipStatus::kBadData, 0};
    }
    size_t used = 0, wrote = 0;
    const libdeflate_result r = libdeflate_gzip_decompress_ex(d, src + in, src_len - in, dst + out, dst_cap - out, &used, &wrote);
    if (r == LIBDEFLATE_INSUFFICIENT_SPACE) return {GunzipStatus::kDstTooSmall, 0};
    if (r != LIBDEFLATE_SUCCESS) return {GunzipStatus::kBadData, 0};
    in += used;
    out += wrote;
  }
  return {GunzipStatus::kOk, out};
}

const char* GunzipStatusName(GunzipStatus s) {
  switch (s) {
    case GunzipStatus::kOk: return "ok";
    case GunzipStatus::kNotGzip: return "not-gzip";
    case GunzipStatus::kBadData: return "bad-data";
    case GunzipStatus::kDstTooSmall: return "dst-too-small";
    case GunzipStatus::kNoMemory: return "no-memory";
  }
  return "unknown";
}

}  // namespace hairtrigger
