// gunzip.h: whole-buffer gzip inflate into a caller's buffer with libdeflate (no Node headers;
// the N-API glue is gunzip_binding.cc). Why libdeflate: a ZTF alert carries three gzip'd FITS
// stamps of ~13 KB, and libdeflate inflates a whole buffer several times faster than zlib's
// streaming inflate (bench/gunzip.ts measures both), with no allocation per call.
#ifndef HAIRTRIGGER_GUNZIP_H
#define HAIRTRIGGER_GUNZIP_H

#include <cstddef>
#include <cstdint>

namespace hairtrigger {

enum class GunzipStatus {
  kOk,
  kNotGzip,      // the input does not start with a gzip member (magic 1f 8b, method 8)
  kBadData,      // a corrupt or truncated member, or trailing bytes that are not a member
  kDstTooSmall,  // the inflated data do not fit the destination
  kNoMemory,     // the decompressor could not be allocated
};

struct GunzipResult {
  GunzipStatus status;
  size_t written;  // bytes written to dst (all members) when kOk
};

// Inflates every gzip member of src[0, src_len) back to back into dst[0, dst_cap), as
// zlib's gunzip does; trailing zero bytes after the last member are ignored, as zlib does.
// One decompressor per thread, allocated on first use and freed at thread exit.
GunzipResult GunzipInto(const uint8_t* src, size_t src_len, uint8_t* dst, size_t dst_cap);

// A stable lower-case name of a status ("ok", "not-gzip", "bad-data", "dst-too-small", "no-memory").
const char* GunzipStatusName(GunzipStatus s);

}  // namespace hairtrigger

#endif  // HAIRTRIGGER_GUNZIP_H
