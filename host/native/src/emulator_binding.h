// The N-API glue of the FPGA device emulator (emulator_binding.cc), added to the addon's
// exports by binding.cc's Init.
#ifndef HAIRTRIGGER_EMULATOR_BINDING_H
#define HAIRTRIGGER_EMULATOR_BINDING_H

#include <napi.h>

namespace hairtrigger {

// exports.Emulator = class Emulator (sim/emulator/emulator.h).
void InitEmulator(Napi::Env env, Napi::Object exports);

}  // namespace hairtrigger

#endif  // HAIRTRIGGER_EMULATOR_BINDING_H
