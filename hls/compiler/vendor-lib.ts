/**
 * The vendor-csim peer of a generated project: the same firmware sources (the top function and
 * its layer templates) compiled by g++ against the vendor's `ap_fixed` headers
 * (-DHT_USE_VENDOR_AP, what hls4ml's and Vitis' C simulation run) into a model library with the
 * C ABI of hls/abi/ht_model_abi.h, so the `sim` backend's loader runs it and a bench times both
 * through the same call path. Built on demand (minutes for a large model), cached by a hash of
 * its sources and flags; never part of `make firmware`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../host/src/core/errors.js';
import { ABI_COMMON_CPP, SIM_CXXFLAGS } from './bridge.js';

/** The vendor's headers shipped in ../shared/reference (Xilinx HLS_arbitrary_Precision_Types). */
export const VENDOR_AP_INCLUDE = ['../../../', '../../../../']
  .map((up) => fileURLToPath(new URL(`${up}shared/reference/xilinx-ap-types/include`, import.meta.url)))
  .find((d) => existsSync(join(d, 'ap_fixed.h'))) ?? fileURLToPath(new URL('../../../shared/reference/xilinx-ap-types/include', import.meta.url));

/**
 * g++ flags of the vendor build: the flags a C simulation of hls4ml firmware is built with
 * outside Vitis. -DNDEBUG: without it a debug assertion in the vendor's ap_private.h misfires.
 */
export const VENDOR_CXXFLAGS = ['-std=c++17', '-O2', '-DNDEBUG'];
const SHARED_LIB_FLAGS = ['-fPIC', '-shared', '-fvisibility=hidden', '-w'];

/**
 * The CPU builds of a project's firmware the bench sets beside `sim` (lib<name>.so):
 *   vendor          the vendor's ap_fixed, VENDOR_CXXFLAGS (what hls4ml's C simulation runs)
 *   vendor-native   the vendor's ap_fixed with the sim library's flags (SIM_CXXFLAGS): is it the flags?
 *   sim-generic     ht_fixed with the layers' CPU fast paths off (-DHT_SIM_GENERIC): is it the type or the fast paths?
 */
export type PeerVariant = 'vendor' | 'vendor-native' | 'sim-generic';

function peerFlags(variant: PeerVariant): string[] {
  const sim = SIM_CXXFLAGS.split(' ');
  if (variant === 'vendor') return [...VENDOR_CXXFLAGS, '-DHT_USE_VENDOR_AP'];
  if (variant === 'vendor-native') return [...sim, '-DNDEBUG', '-DHT_USE_VENDOR_AP'];
  return [...sim, '-DHT_SIM_GENERIC'];
}

/** The g++ command line of a variant, for the bench's record. */
export function peerCommand(variant: PeerVariant): string {
  return `g++ ${[...peerFlags(variant), ...SHARED_LIB_FLAGS].join(' ')}`;
}

/** What a peer library reports through ht_model_get_info: the sim library's own facts. */
export interface VendorLibInfo {
  readonly name: string;
  readonly modelSha256: string;
  readonly precision: string;
  readonly postprocess: string;
  readonly latencyCycles: number;
  readonly ii: number;
  readonly clockMhz: number;
}

/**
 * Builds (or finds in `cacheDir`) `lib<name>_<variant>.so` from the project `projectDir` that
 * `hairtrigger compile` wrote, and returns its path; `info` is what the library reports (the sim
 * library's own info). Throws ConfigError when the project or the vendor headers are missing;
 * g++'s own error when the sources do not compile.
 */
export function buildPeerLibrary(projectDir: string, info: VendorLibInfo, cacheDir: string, variant: PeerVariant = 'vendor', apInclude = VENDOR_AP_INCLUDE): string {
  const fw = join(projectDir, 'firmware');
  const top = join(fw, `${info.name}.cpp`);
  if (!existsSync(top)) throw new ConfigError('vendor-csim.project', `${top} is missing: compile the model first (make firmware)`);
  if (!existsSync(join(apInclude, 'ap_fixed.h'))) throw new ConfigError('vendor-csim.apInclude', `${apInclude} holds no ap_fixed.h`);
  mkdirSync(cacheDir, { recursive: true });
  const vendor = variant !== 'sim-generic';
  const bridge = vendor ? vendorBridgeCpp(info) : readFileSync(join(fw, `${info.name}_bridge.cpp`), 'utf8');
  const flags = [...peerFlags(variant), ...SHARED_LIB_FLAGS, ...(vendor ? ['-I', apInclude] : [])];
  const key = sourcesHash(fw, bridge, flags);
  const lib = join(cacheDir, `lib${info.name}_${variant}.so`);
  const stamp = `${lib}.sha256`;
  if (existsSync(lib) && existsSync(stamp) && readFileSync(stamp, 'utf8') === key) return lib;
  const bridgePath = join(cacheDir, `${info.name}_${variant}_bridge.cpp`);
  writeFileSync(bridgePath, bridge);
  execFileSync('g++', [...flags, '-I', fw, '-I', join(fw, 'nnet'), '-o', `${lib}.tmp`, top, bridgePath], { stdio: ['ignore', 'ignore', 'pipe'] });
  renameSync(`${lib}.tmp`, lib);
  writeFileSync(stamp, key);
  return lib;
}

/** SHA-256 over the firmware sources (file names and bytes), the bridge and the flags. */
function sourcesHash(fw: string, bridge: string, flags: readonly string[]): string {
  const h = createHash('sha256').update(bridge).update(flags.join(' '));
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir).sort()) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(h|cpp)$/.test(e)) h.update(p).update(readFileSync(p));
    }
  };
  walk(fw);
  return h.digest('hex');
}

/**
 * The ABI around the top function on the vendor's types. Conversions take the vendor's own
 * operators (the constructor from double, to_double), which is what the C testbench does; the
 * sim bridge reproduces exactly those with ht_fixed's raw access (hls/compiler/bridge.ts).
 */
export function vendorBridgeCpp(info: VendorLibInfo): string {
  const c = (s: string): string => JSON.stringify(s);
  return `// ${info.name}_vendor_bridge.cpp: the C ABI of hls/abi/ht_model_abi.h around ${info.name}() built on
// the vendor's ap_fixed (-DHT_USE_VENDOR_AP). Generated by hls/compiler/vendor-lib.ts. Simulation only.
#include <cstdint>
#include "ht_model_abi.h"
#include "${info.name}.h"

#ifndef HT_USE_VENDOR_AP
#error "the vendor bridge is built against the vendor's ap_fixed.h (-DHT_USE_VENDOR_AP)"
#endif

#define HT_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

constexpr int kInF = input_t::width - input_t::iwidth;
constexpr int kOutF = result_t::width - result_t::iwidth;
constexpr bool kRawOk = input_t::width <= 32 && result_t::width <= 32;

const ht_model_info kInfo = {
    HT_MODEL_ABI_VERSION, N_IN, N_OUT, input_t::width, input_t::iwidth, result_t::width, result_t::iwidth,
    kRawOk ? 1u : 0u, ${info.latencyCycles}u, ${info.ii}u, ${info.clockMhz},
    ${c(info.name)}, ${c(info.modelSha256)}, ${c(info.precision)}, ${c(info.postprocess)},
    0u,  // n_px: the vendor peer runs the network from input_t values only (no pixel entry)
};

// 2^e as a double, exactly (|e| <= 63 for every supported type).
constexpr double pow2(int e) { return e >= 0 ? (e == 0 ? 1.0 : 2.0 * pow2(e - 1)) : 0.5 * pow2(e + 1); }

input_t g_x[N_IN];
result_t g_y[N_OUT];

// The low W bits of a raw word, sign-extended (the ABI ignores the bits above W).
inline int64_t sext(int32_t v, int w) {
  return static_cast<int64_t>(static_cast<uint64_t>(static_cast<int64_t>(v)) << (64 - w)) >> (64 - w);
}

}  // namespace

HT_EXPORT int32_t ht_model_predict_f32(const float* x, float* y) {
  if (x == nullptr || y == nullptr) return HT_MODEL_E_ARGUMENT;
  for (int i = 0; i < N_IN; i++) g_x[i] = input_t(static_cast<double>(x[i]));
  ${info.name}(g_x, g_y);
  for (int i = 0; i < N_OUT; i++) y[i] = static_cast<float>(g_y[i].to_double());
  return HT_MODEL_OK;
}
${ABI_COMMON_CPP}
// Raw words through doubles: exact for widths <= 32 (kRawOk).
HT_EXPORT int32_t ht_model_predict_raw(const int32_t* x, int32_t* y) {
  if (!kRawOk) return HT_MODEL_E_RAW_WIDTH;
  if (x == nullptr || y == nullptr) return HT_MODEL_E_ARGUMENT;
  for (int i = 0; i < N_IN; i++) g_x[i] = input_t(static_cast<double>(sext(x[i], input_t::width)) * pow2(-kInF));
  ${info.name}(g_x, g_y);
  for (int i = 0; i < N_OUT; i++) y[i] = static_cast<int32_t>(g_y[i].to_double() * pow2(kOutF));
  return HT_MODEL_OK;
}

HT_EXPORT int32_t ht_model_predict_u8(const uint8_t* px, float* y) {
  (void)px;
  (void)y;
  return HT_MODEL_E_NO_PIXELS;
}
`;
}
