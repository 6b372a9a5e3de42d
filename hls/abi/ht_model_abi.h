// ht_model_abi.h: the C ABI between a compiled model library (lib<name>.so, built from a
// generated firmware project: the HLS top function plus firmware/<name>_bridge.cpp) and its
// loaders (host/native's simulator, the FPGA device emulator).
//
// A loader first calls ht_model_abi_version() and refuses the library unless it returns
// HT_MODEL_ABI_VERSION; only then may it read ht_model_get_info() and call the predict
// functions. Any change to this file's structs or signatures bumps the version.
//
// Values:
//   float   predict: input floats are converted to input_t exactly as the C testbench's
//           doubles are (the type's Q and O modes on the exact value); outputs are result_t
//           values widened to float (exact for result widths <= 24 bits of mantissa span).
//   raw     predict: the W-bit two's complement bit patterns, sign-extended to int32 (input
//           bits above W are ignored). Only for input and result widths <= 32
//           (info.raw_ok); otherwise the raw functions return HT_MODEL_E_RAW_WIDTH.
//   u8      predict: the camera frame's bytes (n_px of them, HWC uint8), when the library takes
//           pixels (n_px > 0: the firmware preprocesses, hls/nnet/nnet_preprocess.h); else
//           it returns HT_MODEL_E_NO_PIXELS. Outputs as for float predict.
// All predict functions are synchronous, reentrant only if the model is (it is not: layer
// code keeps function-local static buffers), and allocate nothing.
#ifndef HT_MODEL_ABI_H
#define HT_MODEL_ABI_H

#include <stdint.h>

#define HT_MODEL_ABI_VERSION 2u

#define HT_MODEL_OK 0
#define HT_MODEL_E_RAW_WIDTH 1
#define HT_MODEL_E_ARGUMENT 2
#define HT_MODEL_E_NO_PIXELS 3

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ht_model_info {
  uint32_t abi_version;   // == HT_MODEL_ABI_VERSION
  uint32_t n_in;          // input values per sample (flat, the model's layout)
  uint32_t n_out;         // outputs per sample (logits)
  int32_t in_width;       // input_t: W and I (integer bits with sign)
  int32_t in_int;
  int32_t out_width;      // result_t: W and I
  int32_t out_int;
  uint32_t raw_ok;        // 1 when in_width and out_width <= 32
  uint32_t latency_cycles;  // modelled by the compiler (hls/compiler/latency.ts)
  uint32_t ii;            // initiation interval, cycles
  double clock_mhz;
  const char* name;       // top function name
  const char* model_sha256;  // hex SHA-256 of the source ONNX file
  const char* precision;  // default precision, e.g. "ap_fixed<16,6>"
  const char* postprocess;  // "" or "softmax": what the host applies to the outputs
  uint32_t n_px;          // bytes of one camera frame ht_model_predict_u8 takes; 0: no pixel entry
} ht_model_info;

uint32_t ht_model_abi_version(void);
const ht_model_info* ht_model_get_info(void);
// y[n_out] from x[n_in]. Returns HT_MODEL_OK.
int32_t ht_model_predict_f32(const float* x, float* y);
// n samples back to back: x[n * n_in] -> y[n * n_out].
int32_t ht_model_predict_f32_batch(const float* x, float* y, uint32_t n);
int32_t ht_model_predict_raw(const int32_t* x, int32_t* y);
// y[n_out] from the frame's bytes px[n_px]. HT_MODEL_E_NO_PIXELS when n_px is 0.
int32_t ht_model_predict_u8(const uint8_t* px, float* y);

// Sliding windows (optional: a loader resolves them when present and predicts as above when
// not). A stream is for inputs that are windows over a sequence (a keyword spotter's last 49
// feature frames): a window that is an earlier one moved up by the library's shift reuses the
// rows of its convolutions that did not change (hls/nnet/nnet_shift_reuse.h), with the same
// bits as ht_model_predict_f32; any other input is computed in full. open allocates (null:
// the library has no sliding-window plan, or no memory); predict_stream allocates nothing;
// reused counts the predictions that reused rows. Not reentrant, like the predict functions.
void* ht_model_stream_open(void);
void ht_model_stream_close(void* stream);
int32_t ht_model_predict_stream_f32(void* stream, const float* x, float* y);
uint64_t ht_model_stream_reused(const void* stream);

#ifdef __cplusplus
}
#endif

#endif  // HT_MODEL_ABI_H
