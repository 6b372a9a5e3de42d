// ht_stream.h: hls::stream for C simulation. In synthesis the vendor's <hls_stream.h> is
// used; the vendor headers in ../shared/reference (xilinx-ap-types) do not include it, and
// the simulator must build without vendor tools, so outside __SYNTHESIS__ this file provides
// the subset the streaming templates and the device top (hls/compiler/device-top.ts) use:
// read(), read_nb(), write(), empty(), full(), size(), >> and <<. Where the vendor's header
// exists (a Vitis C simulation) it is used instead.
//
// C simulation semantics are those of Vitis's csim: an unbounded FIFO (the depth pragma only
// sizes the hardware FIFO), and reading an empty stream is a design error: here it aborts
// with a message naming the stream (csim prints a warning and returns garbage). Simulation
// only: it allocates (std::deque), so it is never on the sim backend's hot path (the sim
// library runs the io_parallel kernels; nnet_conv2d_stream.h says why that is exact).
#ifndef HT_STREAM_H
#define HT_STREAM_H

#if defined(__SYNTHESIS__) || __has_include(<hls_stream.h>)
#include <hls_stream.h>
#else
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>

namespace hls {

template <class T>
class stream {
 public:
  stream() : name_("stream") {}
  explicit stream(const char* name) : name_(name) {}
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;

  /// Takes the oldest element; aborts on an empty stream (a deadlock in hardware).
  T read() {
    if (fifo_.empty()) {
      std::fprintf(stderr, "hls::stream '%s': read while empty (the design would stall here)\n", name_.c_str());
      std::abort();
    }
    T v = fifo_.front();
    fifo_.pop_front();
    return v;
  }
  void read(T& v) { v = read(); }
  /// Takes the oldest element if there is one.
  bool read_nb(T& v) {
    if (fifo_.empty()) return false;
    v = read();
    return true;
  }
  void write(const T& v) { fifo_.push_back(v); }
  bool empty() const { return fifo_.empty(); }
  bool full() const { return false; }  // unbounded in C simulation
  std::size_t size() const { return fifo_.size(); }
  void operator>>(T& v) { read(v); }
  void operator<<(const T& v) { write(v); }

 private:
  std::string name_;
  std::deque<T> fifo_;
};

}  // namespace hls
#endif  // __SYNTHESIS__ || <hls_stream.h>

#endif  // HT_STREAM_H
